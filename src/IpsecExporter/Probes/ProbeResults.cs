using System.Collections.Concurrent;
using System.Net;
using IpsecExporter.Configuration;

namespace IpsecExporter.Probes;

public enum ProbeRole
{
    /// <summary>Pings of the remote gateway's public address (troubleshooting step 2).</summary>
    Gateway,

    /// <summary>Pings through the tunnel to an inside address, from <c>inside.source</c> (step 5).</summary>
    Inside,
}

/// <summary>
/// What the probes of one target saw: totals since the target was configured (the same numbers as the
/// <c>ipsec_*_ping_*_total</c> counters) and the probes that settled within <see cref="Window"/>.
/// <see cref="Target"/> is the configured remote gateway (IP or name) or inside address; <see cref="Address"/> is what
/// was last probed; <see cref="LastRoundTrip"/> is the RTT of the latest reply. <see cref="LastError"/> is the last reason a probe could not be sent (no route, source address
/// missing, name not resolved); it is cleared by the next reply.
/// </summary>
public sealed record ProbeTargetResult(
    string Tunnel,
    ProbeRole Role,
    string Target,
    IPAddress? Address,
    IPAddress? Source,
    long Requests,
    long Responses,
    long LateResponses,
    long DuplicateResponses,
    ProbeWindow Window,
    DateTimeOffset? LastResponseAt,
    TimeSpan? LastRoundTrip,
    string? LastError);

/// <summary>
/// Probes settled (answered, timed out or failed) within the last <see cref="Length"/>. <see cref="Loss"/> is
/// 1 - received / sent, null when nothing settled; RTTs are over the replies, null when there were none.
/// </summary>
public sealed record ProbeWindow(TimeSpan Length, int Sent, int Received, double? Loss, TimeSpan? RttMin, TimeSpan? RttAverage, TimeSpan? RttMax);

/// <summary>
/// Per-target probe results for the diagnosis, the status page and the partner report: a small ring of per-probe
/// outcomes with timestamps (sized from <c>diagnosis.window</c> and <c>probes.interval</c>) and running totals.
/// Filled by <see cref="ProbeScheduler"/>.
/// </summary>
public sealed class ProbeResults(ConfigStore config, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Tunnel, ProbeRole Role, string Target), ProbeHistory> _histories = new();

    /// <summary>
    /// The gateway probe of <paramref name="tunnel"/> (<paramref name="target"/> null) or its probe of an inside
    /// address, over <paramref name="window"/> (default <c>diagnosis.window</c>); null when no such probe is configured.
    /// </summary>
    public ProbeTargetResult? Get(string tunnel, IPAddress? target = null, TimeSpan? window = null)
    {
        var key = (tunnel, target is null ? ProbeRole.Gateway : ProbeRole.Inside, target?.ToString() ?? "");
        return _histories.TryGetValue(key, out var history) ? history.Snapshot(time.GetUtcNow(), window ?? config.Current.Diagnosis.Window) : null;
    }

    /// <summary>Every probe of <paramref name="tunnel"/>: the gateway first, then the inside addresses.</summary>
    public IReadOnlyList<ProbeTargetResult> GetTunnel(string tunnel, TimeSpan? window = null)
    {
        var now = time.GetUtcNow();
        var length = window ?? config.Current.Diagnosis.Window;
        return _histories
            .Where(h => h.Key.Tunnel == tunnel)
            .OrderBy(h => h.Key.Role)
            .ThenBy(h => h.Key.Target, StringComparer.Ordinal)
            .Select(h => h.Value.Snapshot(now, length))
            .ToList();
    }

    internal ProbeHistory Track(string tunnel, ProbeRole role, string key, string target, int capacity)
    {
        var history = _histories.GetOrAdd((tunnel, role, key), _ => new ProbeHistory(tunnel, role, capacity));
        history.Configure(target, capacity);
        return history;
    }

    internal void Forget(string tunnel, ProbeRole role, string key) => _histories.TryRemove((tunnel, role, key), out _);
}

/// <summary>The outcomes of one target, newest last, in a fixed-size ring. Thread-safe.</summary>
internal sealed class ProbeHistory(string tunnel, ProbeRole role, int capacity)
{
    private readonly Lock _lock = new();
    private Outcome[] _ring = new Outcome[capacity];
    private int _next;
    private int _count;
    private string _target = "";
    private IPAddress? _address;
    private IPAddress? _source;
    private long _requests;
    private long _responses;
    private long _late;
    private long _duplicates;
    private DateTimeOffset? _lastResponseAt;
    private TimeSpan? _lastRoundTrip;
    private string? _lastError;

    public void Configure(string target, int ringCapacity)
    {
        lock (_lock)
        {
            _target = target;
            if (ringCapacity == _ring.Length)
            {
                return;
            }

            // Keep the newest outcomes that fit.
            var kept = Math.Min(_count, ringCapacity);
            var resized = new Outcome[ringCapacity];
            for (var i = 0; i < kept; i++)
            {
                resized[i] = _ring[(_next - kept + i + _ring.Length) % _ring.Length];
            }

            _ring = resized;
            _count = kept;
            _next = kept % ringCapacity;
        }
    }

    public void RecordRequest(IPAddress address, IPAddress? source)
    {
        lock (_lock)
        {
            _address = address;
            _source = source;
            _requests++;
        }
    }

    /// <summary>A probe settled at <paramref name="at"/>: answered after <paramref name="roundTrip"/>, or lost (null).</summary>
    public void RecordSettled(DateTimeOffset at, TimeSpan? roundTrip, string? error)
    {
        lock (_lock)
        {
            _ring[_next] = new Outcome(at.UtcTicks, roundTrip?.TotalSeconds ?? double.NaN);
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
            if (roundTrip is not null)
            {
                _responses++;
                _lastResponseAt = at;
                _lastRoundTrip = roundTrip;
                _lastError = null;
            }
            else if (error is not null)
            {
                _lastError = error;
            }
        }
    }

    public void RecordLate()
    {
        lock (_lock)
        {
            _late++;
        }
    }

    public void RecordDuplicate()
    {
        lock (_lock)
        {
            _duplicates++;
        }
    }

    /// <summary>Nothing could be sent (e.g. the gateway's name does not resolve): remember why.</summary>
    public void RecordError(string error)
    {
        lock (_lock)
        {
            _lastError = error;
        }
    }

    public ProbeTargetResult Snapshot(DateTimeOffset now, TimeSpan window)
    {
        lock (_lock)
        {
            var since = (now - window).UtcTicks;
            int sent = 0, received = 0;
            double sum = 0, min = double.MaxValue, max = 0;
            for (var i = 1; i <= _count; i++)
            {
                var outcome = _ring[(_next - i + _ring.Length) % _ring.Length];
                if (outcome.UtcTicks < since)
                {
                    break;
                }

                sent++;
                if (!double.IsNaN(outcome.RoundTripSeconds))
                {
                    received++;
                    sum += outcome.RoundTripSeconds;
                    min = Math.Min(min, outcome.RoundTripSeconds);
                    max = Math.Max(max, outcome.RoundTripSeconds);
                }
            }

            var probeWindow = new ProbeWindow(
                window,
                sent,
                received,
                sent == 0 ? null : 1 - ((double)received / sent),
                received == 0 ? null : TimeSpan.FromSeconds(min),
                received == 0 ? null : TimeSpan.FromSeconds(sum / received),
                received == 0 ? null : TimeSpan.FromSeconds(max));
            return new ProbeTargetResult(tunnel, role, _target, _address, _source, _requests, _responses, _late, _duplicates, probeWindow, _lastResponseAt, _lastRoundTrip, _lastError);
        }
    }

    private readonly record struct Outcome(long UtcTicks, double RoundTripSeconds);
}

using System.Net;
using IpsecExporter.Configuration;

namespace IpsecExporter.Diagnosis;

/// <summary>One pair's traffic counters in a sample; null where the source does not count.</summary>
public readonly record struct PairCounters(ulong? SentBytes, ulong? ReceivedBytes, ulong? SentPackets, ulong? ReceivedPackets);

/// <summary>
/// The counters of the sample a diagnosis measures growth from, read where they are kept: a <see cref="SampleWindow"/>
/// would otherwise make the whole sample again every round (a copy of each pair observation) for a few numbers. Read
/// only while the diagnosis runs: the window moves on.
/// </summary>
public readonly struct BaselineCounters
{
    private readonly TunnelSample? _sample;
    private readonly SampleWindow? _window;
    private readonly int _index;

    public BaselineCounters(TunnelSample sample)
    {
        _sample = sample;
        At = sample.At;
    }

    internal BaselineCounters(SampleWindow window, int index, DateTimeOffset at)
    {
        _window = window;
        _index = index;
        At = at;
    }

    public DateTimeOffset At { get; }

    /// <summary>The pair with <paramref name="key"/>'s counters, or null when the sample has no such pair.</summary>
    public PairCounters? Pair(PairKey key)
    {
        if (_window is not null)
        {
            return _window.PairCounters(_index, key);
        }

        return PairObservationKey.Find(_sample!.Pairs, key) is { } pair
            ? new PairCounters(pair.SentBytes, pair.ReceivedBytes, pair.SentPackets, pair.ReceivedPackets)
            : null;
    }

    /// <summary>The gateway's echo requests and replies, or null without gateway probes.</summary>
    public (ulong Requests, ulong Responses)? Gateway => _window is not null
        ? _window.ProbeCounters(_index, null)
        : _sample!.Gateway is { } gateway ? (gateway.Requests, gateway.Responses) : null;

    /// <summary>The echo requests and replies of inside target <paramref name="target"/>, or null when it is not probed in this sample.</summary>
    public (ulong Requests, ulong Responses)? Inside(IPAddress target)
    {
        if (_window is not null)
        {
            return _window.ProbeCounters(_index, target);
        }

        for (var i = 0; i < _sample!.Inside.Count; i++)
        {
            if (_sample.Inside[i].Target.Equals(target))
            {
                return (_sample.Inside[i].Counts.Requests, _sample.Inside[i].Counts.Responses);
            }
        }

        return null;
    }
}

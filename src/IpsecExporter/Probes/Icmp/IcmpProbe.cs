using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using IpsecExporter.Metrics;

namespace IpsecExporter.Probes.Icmp;

/// <summary>
/// The ICMP echo engine for IPv4 and IPv6, in the way fping and smokeping_prober work: few sockets shared by all
/// targets (one per address family and source address), replies matched by id, sequence and payload, RTTs from the
/// kernel's receive timestamps (the monotonic clock where the kernel gives none). The socket kind is chosen once per address family: raw when the process
/// has CAP_NET_RAW, else an unprivileged datagram socket when net.ipv4.ping_group_range allows it, else
/// System.Net.NetworkInformation.Ping (logged once, with how to grant CAP_NET_RAW). See docs/PROBES.md.
/// </summary>
public sealed partial class IcmpProbe : IProbe, IMetricsContributor
{
    public const string KindName = "icmp";

    private readonly IcmpProbeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<IcmpProbe> _logger;
    private readonly ulong _token = (ulong)Random.Shared.NextInt64();
    private readonly Lock _openLock = new();
    private readonly ConcurrentDictionary<(AddressFamily Family, IPAddress? Source), IEchoChannel> _channels = new();
    private readonly Dictionary<AddressFamily, IcmpSocketKind> _kinds = [];
    private readonly HashSet<ushort> _rawIdentifiers = [];
    private bool _fallbackLogged;
    private bool _disposed;

    public IcmpProbe(IcmpProbeOptions options, TimeProvider time, ILogger<IcmpProbe> logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    public string Kind => KindName;

    /// <summary>
    /// True when every socket open so far times its replies with kernel timestamps, false when one does not (or
    /// System.Net.NetworkInformation.Ping is in use); null before the first socket is opened.
    /// </summary>
    public bool? KernelTimestamps
    {
        get
        {
            bool? all = null;
            // The dictionary's own enumerator takes no lock (Values would take them all): read at scrape time.
            foreach (var (_, channel) in _channels)
            {
                if (channel.TimestampSource != IcmpTimestampSource.Kernel)
                {
                    return false;
                }

                all = true;
            }

            return all;
        }
    }

    /// <summary>
    /// Writes <c>ipsec_probe_kernel_timestamps</c> (no series before the first socket), read when scraped: sockets are
    /// opened, and may change how they are timed, while probing. <see cref="ProbeScheduler"/> calls it for its probe.
    /// </summary>
    public ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        writer.Family(MetricFamilies.ProbeKernelTimestamps);
        if (KernelTimestamps is { } kernel)
        {
            writer.Sample(MetricFamilies.Unlabelled, kernel ? 1 : 0);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>What times the replies of the socket for <paramref name="family"/> and <paramref name="source"/>; null until it is opened.</summary>
    public IcmpTimestampSource? TimestampSourceFor(AddressFamily family, IPAddress? source = null) =>
        _channels.TryGetValue((family, source), out var channel) ? channel.TimestampSource : null;

    /// <summary>The socket kind in use for <paramref name="family"/>; null until the first probe of that family.</summary>
    public IcmpSocketKind? SocketKindFor(AddressFamily family)
    {
        lock (_openLock)
        {
            return _kinds.TryGetValue(family, out var kind) ? kind : null;
        }
    }

    public void Send(ProbeRequest request, IProbeOutcomeSink sink)
    {
        var family = request.Target.AddressFamily;
        if (request.Source is { } source && source.AddressFamily != family)
        {
            sink.OnOutcome(ProbeOutcome.FailedWith($"source {source} and target {request.Target} are of different address families"));
            return;
        }

        if (!_channels.TryGetValue((family, request.Source), out var channel))
        {
            try
            {
                channel = OpenChannel(family, request.Source);
            }
            catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
            {
                sink.OnOutcome(ProbeOutcome.FailedWith(DescribeOpenFailure(e, request.Source)));
                return;
            }
            catch (ObjectDisposedException)
            {
                sink.OnOutcome(ProbeOutcome.FailedWith("the probe engine is stopped"));
                return;
            }
        }

        channel.Send(request, sink);
    }

    public ValueTask DisposeAsync()
    {
        lock (_openLock)
        {
            _disposed = true;
        }

        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        _channels.Clear();
        return ValueTask.CompletedTask;
    }

    private IEchoChannel OpenChannel(AddressFamily family, IPAddress? source)
    {
        lock (_openLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_channels.TryGetValue((family, source), out var existing))
            {
                return existing;
            }

            var channel = _kinds.TryGetValue(family, out var known) ? Open(known, family, source) : OpenFirst(family, source);
            _channels[(family, source)] = channel;
            return channel;
        }
    }

    /// <summary>The first socket of an address family decides the kind the family keeps.</summary>
    private IEchoChannel OpenFirst(AddressFamily family, IPAddress? source)
    {
        IEchoChannel channel;
        IcmpSocketKind kind;
        if (_options.SocketKind != IcmpSocketKind.Auto)
        {
            kind = _options.SocketKind;
            channel = Open(kind, family, source);
        }
        else if (TryOpen(IcmpSocketKind.Raw, family, source) is { } raw)
        {
            (kind, channel) = (IcmpSocketKind.Raw, raw);
        }
        else if (TryOpen(IcmpSocketKind.Datagram, family, source) is { } datagram)
        {
            (kind, channel) = (IcmpSocketKind.Datagram, datagram);
        }
        else
        {
            (kind, channel) = (IcmpSocketKind.SystemPing, new SystemPingChannel());
            if (!_fallbackLogged)
            {
                _fallbackLogged = true;
                LogSystemPingFallback(_logger, PingGroupRange());
            }
        }

        _kinds[family] = kind;
        LogSocketKind(_logger, family == AddressFamily.InterNetwork ? "IPv4" : "IPv6", kind, channel.TimestampSource, _options.NetworkNamespace ?? "the process's own");
        return channel;
    }

    /// <summary>Opens a channel of <paramref name="kind"/>, or null when that kind is not permitted to this process.</summary>
    private IcmpSocketChannel? TryOpen(IcmpSocketKind kind, AddressFamily family, IPAddress? source)
    {
        try
        {
            return (IcmpSocketChannel)Open(kind, family, source);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            return null;
        }
    }

    private IEchoChannel Open(IcmpSocketKind kind, AddressFamily family, IPAddress? source)
    {
        if (kind == IcmpSocketKind.SystemPing)
        {
            return new SystemPingChannel();
        }

        var identifier = kind == IcmpSocketKind.Raw ? NewRawIdentifier() : (ushort)0;
        try
        {
            var socket = IcmpSockets.Open(kind, family, source, identifier, _options.NetworkNamespace);
            return new IcmpSocketChannel(socket, kind, identifier, _token, _options.KernelTimestamps, _time, _logger);
        }
        catch
        {
            // A source that cannot be bound is retried every interval: do not use up the id space.
            _rawIdentifiers.Remove(identifier);
            throw;
        }
    }

    /// <summary>Raw sockets see each other's replies: give each its own echo id.</summary>
    private ushort NewRawIdentifier()
    {
        ushort identifier;
        do
        {
            identifier = (ushort)Random.Shared.Next(1, ushort.MaxValue + 1);
        }
        while (!_rawIdentifiers.Add(identifier));

        return identifier;
    }

    private static string DescribeOpenFailure(Exception e, IPAddress? source) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } when source is not null =>
            $"cannot send from {source}: it is not an address of this host (or of the network namespace the exporter runs in)",
        SocketException { SocketErrorCode: SocketError.AccessDenied } =>
            $"cannot open an ICMP socket: {e.Message} (grant CAP_NET_RAW or allow the group in net.ipv4.ping_group_range, see docs/PROBES.md)",
        _ => $"cannot open an ICMP socket: {e.Message}",
    };

    private static string PingGroupRange()
    {
        try
        {
            return File.ReadAllText("/proc/sys/net/ipv4/ping_group_range").Trim().Replace('\t', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ICMP probes over {Family} use {Kind} sockets, RTTs timed by {Timestamps} "
        + "(Kernel: the kernel's receive timestamps; MonotonicClock: when the receive thread read the reply, including its scheduling delay) (network namespace: {Namespace})")]
    private static partial void LogSocketKind(ILogger logger, string family, IcmpSocketKind kind, IcmpTimestampSource timestamps, string @namespace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No ICMP socket is permitted (no CAP_NET_RAW, and this process's group is outside net.ipv4.ping_group_range = \"{Range}\"): "
        + "falling back to System.Net.NetworkInformation.Ping, which forks /bin/ping per probe, measures whole milliseconds and cannot send inside probes from inside.source. "
        + "Grant CAP_NET_RAW (setcap cap_net_raw+ep on the ipsec-exporter binary, or AmbientCapabilities=CAP_NET_RAW in its systemd unit) "
        + "or allow the group: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"")]
    private static partial void LogSystemPingFallback(ILogger logger, string range);
}

/// <summary>Registers the ICMP engine as probe kind <c>icmp</c>; an <see cref="IcmpProbeOptions"/> in DI overrides the defaults.</summary>
public sealed class IcmpProbeFactory : IProbeFactory
{
    public string Kind => IcmpProbe.KindName;

    public IProbe Create(IServiceProvider services) => new IcmpProbe(
        services.GetService<IcmpProbeOptions>() ?? IcmpProbeOptions.Default,
        services.GetRequiredService<TimeProvider>(),
        services.GetRequiredService<ILogger<IcmpProbe>>());
}

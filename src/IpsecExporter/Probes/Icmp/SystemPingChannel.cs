using System.Net.NetworkInformation;

namespace IpsecExporter.Probes.Icmp;

/// <summary>
/// The last resort when no ICMP socket is permitted: System.Net.NetworkInformation.Ping, which then forks
/// <c>/bin/ping</c> per request and reports whole milliseconds. It cannot choose a source address, so inside probes
/// fail here rather than leave from the wrong address (and outside the tunnel).
/// </summary>
internal sealed class SystemPingChannel : IEchoChannel
{
    private readonly CancellationTokenSource _stopping = new();

    public IcmpTimestampSource TimestampSource => IcmpTimestampSource.SystemPing;

    public void Send(ProbeRequest request, IProbeOutcomeSink sink)
    {
        if (request.Source is not null)
        {
            sink.OnOutcome(ProbeOutcome.FailedWith(
                $"cannot send from {request.Source}: choosing a source address needs an ICMP socket (CAP_NET_RAW or net.ipv4.ping_group_range)"));
            return;
        }

        _ = SendAsync(request, sink);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task SendAsync(ProbeRequest request, IProbeOutcomeSink sink)
    {
        ProbeOutcome outcome;
        try
        {
            using var ping = new Ping();
            // The default payload: without privileges Ping forks /bin/ping, which cannot send a custom one.
            var reply = await ping.SendPingAsync(request.Target, request.Timeout, buffer: null, options: null, _stopping.Token);
            outcome = reply.Status switch
            {
                IPStatus.Success => ProbeOutcome.Replied(TimeSpan.FromMilliseconds(reply.RoundtripTime)),
                IPStatus.TimedOut => ProbeOutcome.TimedOut(),
                var status => ProbeOutcome.FailedWith(status.ToString()),
            };
        }
        catch (PingException e)
        {
            outcome = ProbeOutcome.FailedWith(e.InnerException?.Message ?? e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            outcome = ProbeOutcome.FailedWith("the probe engine is stopped");
        }
        catch (Exception e)
        {
            // Whatever Ping throws (it may fork /bin/ping), the probe must settle.
            outcome = ProbeOutcome.FailedWith(e.Message);
        }

        sink.OnOutcome(outcome);
    }
}

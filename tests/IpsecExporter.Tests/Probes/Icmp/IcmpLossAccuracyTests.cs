using IpsecExporter.Probes;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Probes.Icmp;

/// <summary>
/// Measured loss against a real random drop: nftables in the target namespace drops N% of echo requests.
/// 10,000 probes per case put the 2-point tolerance at 4 standard deviations of the binomial even at N = 50
/// (σ = 0.5 points), so the test fails for a real bias, not by chance (p &lt; 1e-4).
/// </summary>
public sealed class IcmpLossAccuracyTests
{
    private const int Probes = 10_000;
    private const int Burst = 50;

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(50)]
    [Trait("Needs", "root")]
    public async Task Measured_loss_is_within_two_points_of_the_dropped_share(int dropPercent)
    {
        await using var topology = await ProbeTopology.CreateAsync();
        if (dropPercent > 0)
        {
            await topology.Target.NftAsync($$"""
                table ip loss {
                  chain input {
                    type filter hook input priority 0; policy accept;
                    icmp type echo-request numgen random mod 100 < {{dropPercent}} drop
                  }
                }
                """);
        }

        await using var engine = IcmpProbeTests.Engine(topology.Prober.Path);
        var recorder = new OutcomeRecorder();
        var request = new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4, TimeSpan.FromMilliseconds(500));

        // Bursts of 50 a few milliseconds apart: 10,000 probes in about a second.
        for (var sent = 0; sent < Probes; sent += Burst)
        {
            for (var i = 0; i < Burst; i++)
            {
                engine.Send(request, recorder);
            }

            await Task.Delay(1);
        }

        await recorder.WaitForSettledAsync(Probes, TimeSpan.FromSeconds(30));
        var loss = 100.0 * (1 - (double)recorder.Count(ProbeOutcomeKind.Reply) / Probes);
        Assert.InRange(loss, dropPercent - 2, dropPercent + 2);
        Assert.Equal(0, recorder.Count(ProbeOutcomeKind.Failed));
        Assert.Equal(0, recorder.Count(ProbeOutcomeKind.LateReply));
        Assert.Equal(0, recorder.Count(ProbeOutcomeKind.DuplicateReply));
    }
}

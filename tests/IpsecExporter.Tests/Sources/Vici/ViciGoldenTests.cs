using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>
/// Frames recorded from a real charon (scripts/record-vici-fixtures.sh) → the exporter's VICI client and mapper →
/// the tunnel model → metrics text, compared with the reviewed expected.prom beside the frames. Collections are 5s
/// apart; recorded events arrive 1s before the collection they belong to.
/// </summary>
public sealed class ViciGoldenTests
{
    [Theory]
    [InlineData("healthy")]
    [InlineData("desync")]
    [InlineData("duplicate")]
    [InlineData("rekey")]
    [InlineData("phase2-missing")]
    [InlineData("phase1-down")]
    [Trait("Needs", "daemon")]
    public async Task Recorded_frames_give_the_expected_metrics(string scenario)
    {
        using var harness = new TrackerHarness(File.ReadAllText(Fixtures.Path("vici", "config.yaml")));

        foreach (var snapshot in await ReplayAsync(harness, scenario))
        {
            harness.Collect(snapshot);
        }

        Assert.Equal(File.ReadAllText(Fixtures.Path("vici", scenario, "expected.prom")), await harness.RenderTunnelModelAsync());
        Assert.Equal((0, ""), await Promtool.RunAsync(await harness.RenderAsync(), "check", "metrics"));
    }

    /// <summary>The snapshots of a scenario, decoded from its recorded frames exactly as <see cref="ViciSaSource"/> does.</summary>
    public static async Task<List<SaSnapshot>> ReplayAsync(TrackerHarness harness, string scenario)
    {
        var snapshots = new List<SaSnapshot>();
        foreach (var file in Directory.GetFiles(Fixtures.Path("vici", scenario), "??.bin").Order(StringComparer.Ordinal))
        {
            harness.Time.Advance(TimeSpan.FromSeconds(4));
            var children = new List<ChildSaChange>();
            var ikes = new List<IkeSaChange>();
            var events = Path.ChangeExtension(file, ".events.bin");
            if (File.Exists(events))
            {
                await using var eventConnection = new ViciConnection(new ReplayStream(File.ReadAllBytes(events)), harness.Time, TimeSpan.FromSeconds(1));
                foreach (var packet in await ReadAllEventsAsync(eventConnection))
                {
                    var (childChanges, ikeChanges) = ViciSaMapper.MapEvent(packet, harness.Time.GetUtcNow());
                    children.AddRange(childChanges);
                    ikes.AddRange(ikeChanges);
                }
            }

            harness.Time.Advance(TimeSpan.FromSeconds(1));
            await using var connection = new ViciConnection(new ReplayStream(File.ReadAllBytes(file)), harness.Time, TimeSpan.FromSeconds(1));
            var version = await connection.CallAsync("version", null, CancellationToken.None);
            var snapshot = await ViciSaSource.QueryAsync(connection, version, snapshots.LastOrDefault()?.Epoch, null, harness.Time, CancellationToken.None);
            snapshots.Add(snapshot with { ChildSaChanges = children, IkeSaChanges = ikes });
        }

        return snapshots;
    }

    private static async Task<List<ViciPacket>> ReadAllEventsAsync(ViciConnection connection)
    {
        var packets = new List<ViciPacket>();
        while (true)
        {
            try
            {
                packets.Add(await connection.ReadEventAsync(CancellationToken.None));
            }
            catch (IOException)
            {
                return packets; // end of the recording
            }
        }
    }
}

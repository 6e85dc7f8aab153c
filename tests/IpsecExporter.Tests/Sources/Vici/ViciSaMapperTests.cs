using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>Mapper rules the recorded fixtures do not exercise; the recorded frames themselves run in ViciGoldenTests.</summary>
public sealed class ViciSaMapperTests
{
    [Fact]
    public void The_daemon_start_time_is_read_from_stats_in_charons_format()
    {
        var version = new ViciSection().Add("daemon", "charon").Add("version", "5.9.8");
        var stats = new ViciSection().AddSection("uptime", new ViciSection().Add("running", "2 seconds").Add("since", "Nov 29 13:30:08 2026"));

        var daemon = ViciSaMapper.MapDaemon(version, stats);

        var local = new DateTime(2026, 11, 29, 13, 30, 8, DateTimeKind.Unspecified);
        Assert.Equal(new DateTimeOffset(local, TimeZoneInfo.Local.GetUtcOffset(local)), daemon.StartedAt);
        Assert.Equal(("charon", "5.9.8"), (daemon.Name, daemon.Version));
        Assert.Null(ViciSaMapper.MapDaemon(version, new ViciSection()).StartedAt);
    }

    [Fact]
    public void A_counter_that_is_not_a_number_is_a_protocol_error_not_a_zero()
    {
        var child = new ViciSection().Add("name", "net1").Add("uniqueid", "1").Add("bytes-in", "12ab");

        var error = Assert.Throws<ViciProtocolException>(() => ViciSaMapper.MapChildSa("net1-1", child));

        Assert.Equal("CHILD SA 'net1': bytes-in is not a counter: '12ab'", error.Message);
    }

    [Fact]
    public void Up_events_carry_no_change_and_down_events_the_final_counters()
    {
        var ike = new ViciSection().Add("uniqueid", "1").AddSection("child-sas", new ViciSection().AddSection("net1-4", new ViciSection().Add("uniqueid", "4").Add("bytes-in", "840")));

        var up = ViciSaMapper.MapEvent(new ViciPacket(ViciPacketType.Event, "child-updown", new ViciSection().Add("up", "yes").AddSection("branch", ike)), DateTimeOffset.UnixEpoch);
        var down = ViciSaMapper.MapEvent(new ViciPacket(ViciPacketType.Event, "child-updown", new ViciSection().AddSection("branch", ike)), DateTimeOffset.UnixEpoch);

        Assert.Empty(up.Children);
        var change = Assert.Single(down.Children);
        Assert.Equal(("branch", "net1-4", 840UL), (change.Connection, change.Old.Name, change.Old.BytesIn));
    }
}

using IpsecExporter.Sources;
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

        var daemon = ViciSaMapper.MapEpoch(version, stats, null);

        var local = new DateTime(2026, 11, 29, 13, 30, 8, DateTimeKind.Unspecified);
        Assert.Equal(new DateTimeOffset(local, TimeZoneInfo.Local.GetUtcOffset(local)), daemon.StartedAt);
        Assert.Equal(("charon", "5.9.8"), (daemon.Name, daemon.Version));
        Assert.Null(ViciSaMapper.MapEpoch(version, new ViciSection(), null).StartedAt);
    }

    [Fact]
    public void The_daemon_run_keeps_its_epoch_through_the_start_time_wobble_and_changes_it_on_a_restart()
    {
        var version = new ViciSection().Add("daemon", "charon").Add("version", "5.9.8");
        static ViciSection Since(string since) => new ViciSection().AddSection("uptime", new ViciSection().Add("since", since));

        var first = ViciSaMapper.MapEpoch(version, Since("Nov 29 13:30:08 2026"), null);
        var wobbled = ViciSaMapper.MapEpoch(version, Since("Nov 29 13:30:09 2026"), first);
        var untold = ViciSaMapper.MapEpoch(version, new ViciSection(), wobbled);
        var restarted = ViciSaMapper.MapEpoch(version, Since("Nov 29 13:40:00 2026"), untold);

        Assert.Equal(first, wobbled);
        Assert.Equal(first, untold);
        Assert.NotEqual(first.Id, restarted.Id);
    }

    [Theory]
    [InlineData("INSTALLED", ChildSaState.Installed)]
    [InlineData("REKEYED", ChildSaState.Rekeyed)]
    [InlineData("REKEYING", ChildSaState.Rekeying)]
    [InlineData("DELETED", ChildSaState.Deleted)]
    [InlineData("INSTALLING", ChildSaState.Installing)]
    [InlineData("SOMETHING_NEW", ChildSaState.Unknown)]
    public void Child_states_map_to_neutral_states_and_keep_charons_text(string text, ChildSaState state)
    {
        var child = ViciSaMapper.MapChildSa("net1-1", new ViciSection().Add("uniqueid", "1").Add("state", text).Add("spi-in", "c1").Add("spi-out", "c2"));

        Assert.Equal((state, text, "1/c1/c2"), (child.State, child.StateText, child.Key));
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
        Assert.Equal(("branch", "net1-4", 840UL), (change.Connection, change.Old.Name, change.Old.Counters.ReceivedBytes));
    }
}

using System.Text.Json;
using IpsecExporter.Sources;
using IpsecExporter.Sources.OpnSense;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Sources.OpnSense;

/// <summary>The parts of OPNsense's answers the golden scenario does not pin down (shapes: <see cref="OpnSenseSaMapper"/>).</summary>
public sealed class OpnSenseSaMapperTests
{
    private const string Strings = """
        {"rows":[{"name":"con1","uniqueid":"7","state":"INSTALLED","spi-in":"c1a2b3d4","spi-out":"0e1f2a3b","bytes-in":"5000000000","bytes-out":"600",
          "packets-in":"40","packets-out":"6","install-time":"12","rekey-time":"3000","life-time":"3400","dh-group":"",
          "local-ts":"10.1.0.0/24 , 10.1.1.0/24","remote-ts":"10.2.0.0/24","remote-host":"198.51.100.2"}]}
        """;

    private const string Numbers = """
        {"rows":[{"name":"con1","uniqueid":7,"state":"INSTALLED","spi-in":"c1a2b3d4","spi-out":"0e1f2a3b","bytes-in":5000000000,"bytes-out":600,
          "packets-in":40,"packets-out":6,"install-time":12,"rekey-time":3000,"life-time":3400,
          "local-ts":["10.1.0.0/24","10.1.1.0/24"],"remote-ts":["10.2.0.0/24"],"remote-host":"198.51.100.2"}]}
        """;

    [Fact]
    public void Numbers_as_strings_or_numbers_and_lists_joined_or_not_give_the_same_child_sa()
    {
        var fromStrings = Assert.Single(Phase2(Strings));
        var fromNumbers = Assert.Single(Phase2(Numbers));

        Assert.Equal(["10.1.0.0/24", "10.1.1.0/24"], fromStrings.Child.LocalTs);
        Assert.Equal(new SaCounters(5_000_000_000, 600, 40, 6), fromStrings.Child.Counters);
        Assert.Equal("7/c1a2b3d4/0e1f2a3b", fromStrings.Child.Key);
        Assert.Equal(ChildSaState.Installed, fromStrings.Child.State);
        // An empty dh-group stands for "no PFS", not for a group named "".
        Assert.Null(fromStrings.Child.DhGroup);
        Assert.Equal(TimeSpan.FromSeconds(3000), fromStrings.Child.RekeyIn);
        Assert.Equal(System.Net.IPAddress.Parse("198.51.100.2"), fromStrings.RemoteHost);
        // Records compare lists by reference: the selectors are compared apart.
        var none = new List<string>();
        Assert.Equal(fromStrings.Child with { LocalTs = none, RemoteTs = none }, fromNumbers.Child with { LocalTs = none, RemoteTs = none });
        Assert.Equal(fromStrings.Child.LocalTs, fromNumbers.Child.LocalTs);
        Assert.Equal(fromStrings.Child.RemoteTs, fromNumbers.Child.RemoteTs);
    }

    [Fact]
    public void A_counter_that_is_not_a_number_is_an_error_never_a_zero()
    {
        var error = Assert.Throws<ViciProtocolException>(() => Phase2(Strings.Replace("\"5000000000\"", "\"5 GB\"", StringComparison.Ordinal)));

        Assert.Equal("CHILD SA 'con1': bytes-in is not a counter: '5 GB'", error.Message);
    }

    [Fact]
    public void An_answer_that_is_not_a_search_result_is_an_error()
    {
        using var document = JsonDocument.Parse("""{"status":401,"message":"Authentication Failed"}""");

        var error = Assert.Throws<InvalidDataException>(() => OpnSenseSaMapper.ParsePhase1(document.RootElement));

        Assert.Equal("OPNsense's api/ipsec/sessions/search_phase1 answer is not a search result (no rows list of objects)", error.Message);
    }

    [Fact]
    public void A_responder_connection_with_several_peers_gives_one_ike_sa_per_remote_host()
    {
        var phase1 = new OpnSensePhase1("roadwarrior", true, true, null, null);
        var rows = Phase2(Strings).Concat(Phase2(Strings.Replace("198.51.100.2", "192.0.2.9", StringComparison.Ordinal).Replace("\"7\"", "\"8\"", StringComparison.Ordinal))).ToList();

        var snapshot = OpnSenseSaMapper.Map(DateTimeOffset.UnixEpoch, [phase1], new Dictionary<string, List<OpnSensePhase2>> { ["roadwarrior"] = rows });

        Assert.Equal(["roadwarrior|192.0.2.9", "roadwarrior|198.51.100.2"], snapshot.IkeSas.Select(i => i.Key));
        Assert.All(snapshot.IkeSas, ike => Assert.Single(ike.ChildSas));
    }

    private static List<OpnSensePhase2> Phase2(string json)
    {
        using var document = JsonDocument.Parse(json);
        return OpnSenseSaMapper.ParsePhase2(document.RootElement, "con1");
    }
}

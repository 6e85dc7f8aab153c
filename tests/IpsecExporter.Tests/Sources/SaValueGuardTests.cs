using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources;

public sealed class SaValueGuardTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_out_of_range_time_is_unknown_on_its_SA_alone()
    {
        var good = Sas.Child("1", bytesIn: 500, bytesOut: 500);
        var future = Sas.Child("2", local: "10.3.0.0/24", remote: "10.4.0.0/24", bytesIn: 700) with { LastInAgo = TimeSpan.FromSeconds(-5) };
        var absurd = Sas.Child("3", local: "10.5.0.0/24", remote: "10.6.0.0/24", bytesIn: 900) with { InstalledAgo = TimeSpan.FromSeconds(1e10), RekeyIn = TimeSpan.MinValue };
        var snapshot = Sas.Snapshot(At, Sas.Ike("1", good, future, absurd));
        var findings = new List<string>();

        var result = new SaValueGuard().Sanitize(snapshot, findings.Add);

        var children = result.IkeSas.Single().ChildSas;
        Assert.Same(good, children[0]);
        Assert.Null(children[1].LastInAgo);
        Assert.Equal(future with { LastInAgo = null }, children[1]);
        Assert.Null(children[2].InstalledAgo);
        Assert.Null(children[2].RekeyIn);
        Assert.Equal(absurd.LifeIn, children[2].LifeIn);
        Assert.Equal(absurd.Counters, children[2].Counters);
        Assert.Equal(
            [
                "CHILD SA 'net1' (2/c2in/c2out): last received of -5 s is out of range; treated as unknown",
                "CHILD SA 'net1' (3/c3in/c3out): installed of 10000000000 s is out of range; treated as unknown",
                "CHILD SA 'net1' (3/c3in/c3out): rekey in of beyond the range of a time is out of range; treated as unknown",
            ],
            findings.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_snapshot_without_findings_is_handed_on_unchanged()
    {
        var snapshot = Sas.Snapshot(At, Sas.Ike("1", Sas.Child("1", bytesIn: 5)));

        Assert.Same(snapshot, new SaValueGuard().Sanitize(snapshot, finding => Assert.Fail(finding)));
    }

    [Fact]
    public void A_value_that_stays_out_of_range_is_reported_once_per_episode()
    {
        var guard = new SaValueGuard();
        var findings = new List<string>();
        SaSnapshot Poll(int lastIn) => Sas.Snapshot(At, Sas.Ike("1", Sas.Child("1", bytesIn: 5) with { LastInAgo = TimeSpan.FromSeconds(lastIn) }));

        // The broken value changes on every poll (a clock far behind): still one episode.
        foreach (var lastIn in new[] { -30, -25, -20 })
        {
            guard.Sanitize(Poll(lastIn), findings.Add);
        }

        Assert.Single(findings);
        guard.Sanitize(Poll(3), findings.Add);
        guard.Sanitize(Poll(-1), findings.Add);
        Assert.Equal(2, findings.Count);
    }

    [Fact]
    public void Times_inside_changes_are_checked_too()
    {
        var old = Sas.Child("1", bytesIn: 5) with { LastOutAgo = TimeSpan.FromDays(-1) };
        var ike = Sas.Ike("1") with { EstablishedAgo = TimeSpan.MaxValue };
        var snapshot = Sas.Snapshot(At) with
        {
            ChildSaChanges = [new ChildSaChange(At, "site", SaChangeKind.Deleted, old, null)],
            IkeSaChanges = [new IkeSaChange(At, "site", SaChangeKind.Deleted, ike, null)],
        };

        var result = new SaValueGuard().Sanitize(snapshot, _ => { });

        Assert.Null(result.ChildSaChanges.Single().Old.LastOutAgo);
        Assert.Null(result.IkeSaChanges.Single().Old.EstablishedAgo);
    }

    [Theory]
    [InlineData(1e300, long.MaxValue)]
    [InlineData(-1e300, long.MinValue)]
    [InlineData(90.0, 900_000_000L)]
    public void Seconds_saturate_at_the_ends_of_a_time_instead_of_throwing(double seconds, long expectedTicks) =>
        Assert.Equal(expectedTicks, SaValueGuard.Seconds(seconds).Ticks);
}

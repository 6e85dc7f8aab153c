using IpsecExporter.Sources;

namespace IpsecExporter.Tests.Sources;

public sealed class SaCounterLedgerTests
{
    [Fact]
    public void Counters_that_run_on_keep_their_key()
    {
        var ledger = new SaCounterLedger();

        var first = Poll(ledger, "tid 1", "a", 100);
        var second = Poll(ledger, "tid 1", "a", 250);

        Assert.Equal(first.Key, second.Key);
        Assert.Equal(250UL, second.Counters.ReceivedBytes);
    }

    [Fact]
    public void A_counter_that_goes_backwards_starts_a_new_key_from_zero()
    {
        var ledger = new SaCounterLedger();
        var before = Poll(ledger, "tid 1", "a", 1000);

        var after = Poll(ledger, "tid 1", "a", 40);

        Assert.NotEqual(before.Key, after.Key);
        Assert.Equal(40UL, after.Counters.ReceivedBytes);
    }

    [Fact]
    public void A_new_SA_in_a_slot_whose_counters_run_on_starts_from_the_last_polled_values()
    {
        var ledger = new SaCounterLedger();
        var old = Poll(ledger, "tid 1", "a", 1000);

        var rekeyed = Poll(ledger, "tid 1", "b", 1300);

        Assert.NotEqual(old.Key, rekeyed.Key);
        Assert.Equal(300UL, rekeyed.Counters.ReceivedBytes);
        Assert.Equal(500UL, Poll(ledger, "tid 1", "b", 1500).Counters.ReceivedBytes);
    }

    [Fact]
    public void A_new_SA_whose_slot_counters_started_again_counts_from_zero()
    {
        var ledger = new SaCounterLedger();
        Poll(ledger, "tid 1", "a", 1000);

        Assert.Equal(20UL, Poll(ledger, "tid 1", "b", 20).Counters.ReceivedBytes);
    }

    [Fact]
    public void Counters_the_gateway_does_not_have_stay_null()
    {
        var (_, counters) = new SaCounterLedger().Observe("s", "a", new SaCounters(5, null, null, 7));

        Assert.Equal(new SaCounters(5, null, null, 7), counters);
    }

    [Fact]
    public void A_slot_absent_for_a_few_collections_is_forgotten_and_starts_over()
    {
        var ledger = new SaCounterLedger();
        var first = Poll(ledger, "tid 1", "a", 1000);
        for (var i = 0; i < SaCounterLedger.ForgetAfterCollections - 1; i++)
        {
            ledger.EndCollection();
        }

        // Still known: a lower value is a reset.
        Assert.NotEqual(first.Key, Poll(ledger, "tid 1", "a", 10).Key);
        for (var i = 0; i <= SaCounterLedger.ForgetAfterCollections; i++)
        {
            ledger.EndCollection();
        }

        Assert.Equal(first.Key, Poll(ledger, "tid 1", "a", 10).Key);
    }

    private static (string Key, SaCounters Counters) Poll(SaCounterLedger ledger, string slot, string sa, ulong received)
    {
        var result = ledger.Observe(slot, sa, SaCounters.Bytes(received, 0));
        ledger.EndCollection();
        return result;
    }
}

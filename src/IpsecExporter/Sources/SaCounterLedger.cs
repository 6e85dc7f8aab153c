namespace IpsecExporter.Sources;

/// <summary>
/// Turns a gateway's counters into the contract's SA keys (docs/SOURCES.md): the key changes whenever the counters
/// start again. A gateway resets counters on a tunnel flap or a manual "reset statistics" without changing anything
/// else, so the source remembers what it saw per counter <em>slot</em> and starts a new key when a counter went
/// backwards; the tracker then folds the new key in like a rekey and its totals stay monotonic.
/// </summary>
/// <remarks>
/// A slot is where the gateway keeps the counters: an SA itself (MikroTik's installed SAs), or a tunnel whose SAs
/// come and go under it (PAN-OS, whose counters run on across rekeys). For the latter the ledger also splits the
/// tunnel's counters into per-SA values: when another SA occupies the slot, the values seen at the last poll become
/// the new SA's zero. One ledger per source instance; not thread-safe (collections of a source never overlap).
/// </remarks>
public sealed class SaCounterLedger
{
    /// <summary>Slots absent from this many collections are forgotten: as long as the tracker keeps their keys.</summary>
    public const int ForgetAfterCollections = 3;

    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private long _collection;

    /// <summary>
    /// Records <paramref name="counters"/> of the SA <paramref name="sa"/> found in <paramref name="slot"/> and returns the
    /// SA's key and its counters since that key started.
    /// </summary>
    public (string Key, SaCounters Counters) Observe(string slot, string sa, SaCounters counters)
    {
        if (!_slots.TryGetValue(slot, out var known))
        {
            known = new Slot(sa, 0, default, counters, _collection);
        }
        else if (known.Sa != sa)
        {
            // Another SA in the slot: the slot's counters either run on (the old values are the new SA's zero) or
            // started again with it.
            known = new Slot(sa, known.Generation + 1, counters.IsBelow(known.Last) ? default : known.Last, counters, _collection);
        }
        else if (counters.IsBelow(known.Last))
        {
            known = new Slot(sa, known.Generation + 1, default, counters, _collection);
        }
        else
        {
            known = known with { Last = counters, SeenAt = _collection };
        }

        _slots[slot] = known;
        return ($"{slot}|{sa}|{known.Generation}", Subtract(counters, known.Zero));
    }

    /// <summary>Ends a collection: slots not observed for <see cref="ForgetAfterCollections"/> collections are forgotten.</summary>
    public void EndCollection()
    {
        foreach (var (slot, known) in _slots)
        {
            if (_collection - known.SeenAt >= ForgetAfterCollections)
            {
                _slots.Remove(slot);
            }
        }

        _collection++;
    }

    private static SaCounters Subtract(SaCounters value, SaCounters zero) => new(
        value.ReceivedBytes - (zero.ReceivedBytes ?? 0),
        value.SentBytes - (zero.SentBytes ?? 0),
        value.ReceivedPackets - (zero.ReceivedPackets ?? 0),
        value.SentPackets - (zero.SentPackets ?? 0));

    private sealed record Slot(string Sa, int Generation, SaCounters Zero, SaCounters Last, long SeenAt);
}

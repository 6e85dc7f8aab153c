using System.Collections;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// The samples of one tunnel's diagnosis window, oldest first. On a hub the window is most of the exporter's live
/// heap (25 samples per tunnel at the default 2 minutes and 5 s), and from one sample to the next mostly counters
/// change. So a sample is kept as its time, a reference to the first sample of its run of samples that differ from
/// it only in counters (the key frame), and its numbers as 32-bit values: each counter's growth since the key frame,
/// the RTTs as they are. A sample whose numbers do not fit starts a new run. A sample is made again when read; the
/// newest is kept as it came.
/// </summary>
public sealed class SampleWindow : IReadOnlyList<TunnelSample>
{
    private readonly List<Entry> _entries = [];
    private TunnelSample? _latest;

    public int Count => _entries.Count;

    public TunnelSample? Latest => _latest;

    public TunnelSample this[int index]
    {
        get
        {
            var entry = _entries[index];
            return index == _entries.Count - 1 ? _latest! : entry.Sample();
        }
    }

    public void Add(TunnelSample sample)
    {
        var counters = Counters(sample);
        if (_entries.Count > 0
            && _entries[^1] is var last
            && SameShape(last.KeyFrame.Sample, sample)
            && Numbers(last.KeyFrame, counters) is { } numbers)
        {
            // An idle tunnel between probes: the same numbers as the sample before.
            _entries.Add(new Entry(sample.At.UtcTicks, last.KeyFrame, last.Numbers is { } before && numbers.AsSpan().SequenceEqual(before) ? before : numbers));
        }
        else
        {
            _entries.Add(new Entry(sample.At.UtcTicks, new KeyFrame(sample, counters), null));
        }

        _latest = sample;
    }

    /// <summary>Drops the samples older than <paramref name="windowStart"/> but the newest of them, so that the window's start stays covered.</summary>
    public void DropBefore(DateTimeOffset windowStart)
    {
        var firstInWindow = _entries.FindIndex(e => e.UtcTicks >= windowStart.UtcTicks);
        if (firstInWindow > 1)
        {
            _entries.RemoveRange(0, firstInWindow - 1);
        }
    }

    /// <summary>
    /// The oldest sample from <paramref name="start"/> on (of those the source answered in when
    /// <paramref name="needSourceUp"/>), or null; only that one is made again.
    /// </summary>
    public TunnelSample? Oldest(DateTimeOffset start, bool needSourceUp)
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            // A run's samples have their key frame's source state.
            if (_entries[i].UtcTicks >= start.UtcTicks && (_entries[i].KeyFrame.Sample.SourceUp || !needSourceUp))
            {
                return this[i];
            }
        }

        return null;
    }

    public IEnumerator<TunnelSample> GetEnumerator()
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// What a sample has beyond its key frame: the cumulative counters (per pair 4 traffic counters, the rekeys and the
    /// times of the last packet sent and received in ticks, per probed target requests and responses, the IKE rekeys and
    /// the IKE SA's age in ticks), then the last RTT of each probed target in ticks. An absent value is 0: the key frame
    /// tells which are absent.
    /// </summary>
    private static ulong[] Counters(TunnelSample sample)
    {
        var probes = (sample.Gateway is null ? 0 : 1) + sample.Inside.Count;
        var counters = new ulong[CumulativeCount(sample) + probes];
        var i = 0;
        var rtt = CumulativeCount(sample);
        foreach (var pair in sample.Pairs)
        {
            counters[i++] = pair.SentBytes ?? 0;
            counters[i++] = pair.ReceivedBytes ?? 0;
            counters[i++] = pair.SentPackets ?? 0;
            counters[i++] = pair.ReceivedPackets ?? 0;
            counters[i++] = (ulong)pair.Rekeys;
            counters[i++] = (ulong)(pair.LastSent?.UtcTicks ?? 0);
            counters[i++] = (ulong)(pair.LastReceived?.UtcTicks ?? 0);
        }

        if (sample.Gateway is { } gateway)
        {
            Probe(gateway, counters, ref i, ref rtt);
        }

        foreach (var inside in sample.Inside)
        {
            Probe(inside.Counts, counters, ref i, ref rtt);
        }

        counters[i++] = (ulong)(sample.Ike?.Rekeys ?? 0);
        counters[i] = (ulong)(sample.Ike?.EstablishedFor?.Ticks ?? 0);
        return counters;

        static void Probe(ProbeCounts counts, ulong[] counters, ref int i, ref int rtt)
        {
            counters[i++] = counts.Requests;
            counters[i++] = counts.Responses;
            counters[rtt++] = (ulong)(counts.LastRtt?.Ticks ?? 0);
        }
    }

    private static int CumulativeCount(TunnelSample sample) => (sample.Pairs.Count * 7) + ((sample.Gateway is null ? 0 : 1) + sample.Inside.Count) * 2 + 2;

    /// <summary><paramref name="counters"/> as growth since <paramref name="keyFrame"/> (RTTs as they are); null when a value does not fit in 32 bits or a counter went down.</summary>
    private static uint[]? Numbers(KeyFrame keyFrame, ulong[] counters)
    {
        var numbers = new uint[counters.Length];
        var cumulative = CumulativeCount(keyFrame.Sample);
        for (var i = 0; i < counters.Length; i++)
        {
            var value = i < cumulative ? counters[i] - keyFrame.Counters[i] : counters[i];
            if ((i < cumulative && counters[i] < keyFrame.Counters[i]) || value > uint.MaxValue)
            {
                return null;
            }

            numbers[i] = (uint)value;
        }

        return numbers;
    }

    /// <summary>Whether <paramref name="sample"/> is <paramref name="keyFrame"/> with other counters (<see cref="Counters"/>), the same ones absent.</summary>
    private static bool SameShape(TunnelSample keyFrame, TunnelSample sample)
    {
        if (keyFrame.At.Offset != sample.At.Offset
            || keyFrame.SourceUp != sample.SourceUp
            || !SameIke(keyFrame.Ike, sample.Ike)
            || !Equals(keyFrame.RemoteGatewayAddress, sample.RemoteGatewayAddress)
            || keyFrame.Internet != sample.Internet
            || !(ReferenceEquals(keyFrame.BestPractices, sample.BestPractices) || keyFrame.BestPractices.SequenceEqual(sample.BestPractices))
            || keyFrame.Pairs.Count != sample.Pairs.Count
            || keyFrame.Inside.Count != sample.Inside.Count
            || !SameShape(keyFrame.Gateway, sample.Gateway))
        {
            return false;
        }

        for (var i = 0; i < sample.Pairs.Count; i++)
        {
            var (a, b) = (keyFrame.Pairs[i], sample.Pairs[i]);
            // Everything but the counters equal (whatever the observation carries), and the same counters absent.
            if (a.Key != b.Key
                || a with
                {
                    SentBytes = b.SentBytes,
                    ReceivedBytes = b.ReceivedBytes,
                    SentPackets = b.SentPackets,
                    ReceivedPackets = b.ReceivedPackets,
                    Rekeys = b.Rekeys,
                    LastSent = b.LastSent,
                    LastReceived = b.LastReceived,
                } != b
                || a.SentBytes.HasValue != b.SentBytes.HasValue || a.ReceivedBytes.HasValue != b.ReceivedBytes.HasValue
                || a.SentPackets.HasValue != b.SentPackets.HasValue || a.ReceivedPackets.HasValue != b.ReceivedPackets.HasValue
                || a.LastSent?.Offset != b.LastSent?.Offset || a.LastReceived?.Offset != b.LastReceived?.Offset)
            {
                return false;
            }
        }

        for (var i = 0; i < sample.Inside.Count; i++)
        {
            if (!keyFrame.Inside[i].Target.Equals(sample.Inside[i].Target) || !SameShape(keyFrame.Inside[i].Counts, sample.Inside[i].Counts))
            {
                return false;
            }
        }

        return true;

        static bool SameShape(ProbeCounts? a, ProbeCounts? b) => a is null ? b is null : b is not null && a.LastRtt.HasValue == b.LastRtt.HasValue;

        static bool SameIke(IkeObservation? a, IkeObservation? b) => a is null
            ? b is null
            : b is not null && a with { Rekeys = b.Rekeys, EstablishedFor = b.EstablishedFor } == b && a.EstablishedFor.HasValue == b.EstablishedFor.HasValue;
    }

    /// <summary>The first sample of a run, with its <see cref="Counters"/>.</summary>
    private sealed record KeyFrame(TunnelSample Sample, ulong[] Counters);

    /// <summary>One sample: its time, its key frame and its numbers relative to it (null for the key frame itself).</summary>
    private readonly record struct Entry(long UtcTicks, KeyFrame KeyFrame, uint[]? Numbers)
    {
        public TunnelSample Sample()
        {
            var keyFrame = KeyFrame.Sample;
            if (Numbers is null)
            {
                return keyFrame;
            }

            var i = 0;
            var rtt = CumulativeCount(keyFrame);
            var pairs = new PairObservation[keyFrame.Pairs.Count];
            for (var p = 0; p < pairs.Length; p++)
            {
                var pair = keyFrame.Pairs[p];
                pairs[p] = pair with
                {
                    SentBytes = Known(pair.SentBytes, Next(ref i)),
                    ReceivedBytes = Known(pair.ReceivedBytes, Next(ref i)),
                    SentPackets = Known(pair.SentPackets, Next(ref i)),
                    ReceivedPackets = Known(pair.ReceivedPackets, Next(ref i)),
                    Rekeys = (long)Next(ref i),
                    LastSent = Time(pair.LastSent, Next(ref i)),
                    LastReceived = Time(pair.LastReceived, Next(ref i)),
                };
            }

            var gateway = keyFrame.Gateway is { } g ? Probe(g, ref i, ref rtt) : null;
            var inside = new InsideSample[keyFrame.Inside.Count];
            for (var t = 0; t < inside.Length; t++)
            {
                inside[t] = keyFrame.Inside[t] with { Counts = Probe(keyFrame.Inside[t].Counts, ref i, ref rtt) };
            }

            var (ikeRekeys, ikeAge) = (Next(ref i), Next(ref i));
            return keyFrame with
            {
                At = new DateTimeOffset(UtcTicks, TimeSpan.Zero).ToOffset(keyFrame.At.Offset),
                Pairs = pairs,
                Gateway = gateway,
                Inside = inside,
                Ike = keyFrame.Ike is { } ike
                    ? ike with { Rekeys = (long)ikeRekeys, EstablishedFor = ike.EstablishedFor is null ? null : TimeSpan.FromTicks((long)ikeAge) }
                    : null,
            };
        }

        /// <summary>The cumulative counter at <paramref name="i"/>: the key frame's value and the growth since.</summary>
        private ulong Next(ref int i)
        {
            var value = KeyFrame.Counters[i] + Numbers![i];
            i++;
            return value;
        }

        private ProbeCounts Probe(ProbeCounts shape, ref int i, ref int rtt)
        {
            var (requests, responses, ticks) = (Next(ref i), Next(ref i), Numbers![rtt++]);
            return new ProbeCounts(requests, responses, shape.LastRtt is null ? null : TimeSpan.FromTicks(ticks));
        }

        private static ulong? Known(ulong? shape, ulong value) => shape is null ? null : value;

        private static DateTimeOffset? Time(DateTimeOffset? shape, ulong utcTicks) => shape is { } s ? new DateTimeOffset((long)utcTicks, TimeSpan.Zero).ToOffset(s.Offset) : null;
    }
}

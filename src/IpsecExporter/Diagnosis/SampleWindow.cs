using System.Collections;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// The samples of one tunnel's diagnosis window, oldest first. On a hub the window is most of the exporter's live
/// heap (25 samples per tunnel at the default 2 minutes and 5 s), and from one sample to the next mostly counters
/// change. So a sample is kept as its time, a reference to the first sample of its run of samples that differ from
/// it only in counters (the key frame), and its counters as one array of numbers; it is made again when read. The
/// newest sample is kept as it came.
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
        var keyFrame = sample;
        if (_entries.Count > 0)
        {
            var last = _entries[^1];
            keyFrame = SameShape(last.KeyFrame, sample) ? last.KeyFrame : sample;
            // An idle tunnel between probes: the same numbers as the sample before.
            counters = counters.AsSpan().SequenceEqual(last.Counters) ? last.Counters : counters;
        }

        _entries.Add(new Entry(sample.At.UtcTicks, keyFrame, counters));
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

    public IEnumerator<TunnelSample> GetEnumerator()
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>What a sample has beyond its key frame: per pair 4 traffic counters and the rekeys, per probed target requests, responses and the last RTT in ticks, and the IKE rekeys (an absent value as 0: the key frame tells which are absent).</summary>
    private static ulong[] Counters(TunnelSample sample)
    {
        var counters = new ulong[(sample.Pairs.Count * 5) + ((sample.Gateway is null ? 0 : 1) + sample.Inside.Count) * 3 + 1];
        var i = 0;
        foreach (var pair in sample.Pairs)
        {
            counters[i++] = pair.SentBytes ?? 0;
            counters[i++] = pair.ReceivedBytes ?? 0;
            counters[i++] = pair.SentPackets ?? 0;
            counters[i++] = pair.ReceivedPackets ?? 0;
            counters[i++] = pair.Rekeys;
        }

        if (sample.Gateway is { } gateway)
        {
            Probe(gateway, counters, ref i);
        }

        foreach (var inside in sample.Inside)
        {
            Probe(inside.Counts, counters, ref i);
        }

        counters[i] = sample.IkeRekeys;
        return counters;

        static void Probe(ProbeCounts counts, ulong[] counters, ref int i)
        {
            counters[i++] = counts.Requests;
            counters[i++] = counts.Responses;
            counters[i++] = (ulong)(counts.LastRtt?.Ticks ?? 0);
        }
    }

    /// <summary>Whether <paramref name="sample"/> is <paramref name="keyFrame"/> with other counters (<see cref="Counters"/>), the same ones absent.</summary>
    private static bool SameShape(TunnelSample keyFrame, TunnelSample sample)
    {
        if (keyFrame.At.Offset != sample.At.Offset
            || keyFrame.SourceUp != sample.SourceUp
            || keyFrame.IkeEstablished != sample.IkeEstablished
            || keyFrame.IkeSaCount != sample.IkeSaCount
            || !Equals(keyFrame.IkeLocalHost, sample.IkeLocalHost)
            || !Equals(keyFrame.IkeRemoteHost, sample.IkeRemoteHost)
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
            if (a.Local != b.Local || a.Remote != b.Remote || a.ChildSas != b.ChildSas || a.DhGroup != b.DhGroup
                || a.SentBytes.HasValue != b.SentBytes.HasValue || a.ReceivedBytes.HasValue != b.ReceivedBytes.HasValue
                || a.SentPackets.HasValue != b.SentPackets.HasValue || a.ReceivedPackets.HasValue != b.ReceivedPackets.HasValue)
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
    }

    /// <summary>One sample: its time, its key frame and its counters.</summary>
    private readonly record struct Entry(long UtcTicks, TunnelSample KeyFrame, ulong[] Counters)
    {
        public TunnelSample Sample()
        {
            var i = 0;
            var pairs = new PairSample[KeyFrame.Pairs.Count];
            for (var p = 0; p < pairs.Length; p++)
            {
                var pair = KeyFrame.Pairs[p];
                pairs[p] = pair with
                {
                    SentBytes = Known(pair.SentBytes, Counters[i++]),
                    ReceivedBytes = Known(pair.ReceivedBytes, Counters[i++]),
                    SentPackets = Known(pair.SentPackets, Counters[i++]),
                    ReceivedPackets = Known(pair.ReceivedPackets, Counters[i++]),
                    Rekeys = Counters[i++],
                };
            }

            var gateway = KeyFrame.Gateway is { } g ? Probe(g, ref i) : null;
            var inside = new InsideSample[KeyFrame.Inside.Count];
            for (var t = 0; t < inside.Length; t++)
            {
                inside[t] = KeyFrame.Inside[t] with { Counts = Probe(KeyFrame.Inside[t].Counts, ref i) };
            }

            return KeyFrame with
            {
                At = new DateTimeOffset(UtcTicks, TimeSpan.Zero).ToOffset(KeyFrame.At.Offset),
                Pairs = pairs,
                Gateway = gateway,
                Inside = inside,
                IkeRekeys = Counters[i],
            };
        }

        private ProbeCounts Probe(ProbeCounts shape, ref int i)
        {
            var (requests, responses, rtt) = (Counters[i++], Counters[i++], Counters[i++]);
            return new ProbeCounts(requests, responses, shape.LastRtt is null ? null : TimeSpan.FromTicks((long)rtt));
        }

        private static ulong? Known(ulong? shape, ulong value) => shape is null ? null : value;
    }
}

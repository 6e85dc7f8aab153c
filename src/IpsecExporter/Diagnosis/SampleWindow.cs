using System.Collections;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IpsecExporter.Configuration;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// The samples of one tunnel's diagnosis window, oldest first. On a hub the window is most of the exporter's live
/// heap (25 samples per tunnel at the default 2 minutes and 5 s), and from one sample to the next mostly counters
/// change. So a sample is kept as its time, a reference to the first sample of its run of samples that differ from
/// it only in counters (the key frame), and its numbers as 32-bit values, stored in as few bytes as each needs: each
/// counter's growth since the key frame, the RTTs as they are. A sample whose numbers do not fit starts a new run. A sample is made again when read; the
/// newest is kept as it came.
/// </summary>
public sealed class SampleWindow : IReadOnlyList<TunnelSample>
{
    /// <summary>The most counters made on the stack; a sample with more (dozens of pairs or targets) gets arrays.</summary>
    private const int StackCounters = 64;

    /// <summary>How many samples' numbers the buffer grows by when full.</summary>
    private const int GrowBySamples = 4;

    /// <summary>Grown a few entries at a time, like <see cref="_numbers"/>, rather than doubled.</summary>
    private readonly List<Entry> _entries = [];

    /// <summary>The key frames the entries refer to by index (an entry of 16 bytes instead of 24 with a reference), oldest first.</summary>
    private readonly List<KeyFrame> _keyFrames = [];

    /// <summary>
    /// The numbers of the samples that are not key frames, back to back, oldest first: one buffer per window instead
    /// of an array per sample, so that adding a sample allocates nothing once the buffer has grown to the window. Each
    /// number takes 7 bits a byte (LEB128): growth over a window and RTTs mostly need 1-3 bytes of the 4 of a uint.
    /// </summary>
    private readonly List<byte> _numbers = [];

    private TunnelSample? _latest;

    public int Count => _entries.Count;

    public TunnelSample? Latest => _latest;

    /// <summary>The slots the window holds for entries and numbers (for the test that keeps them near the window's size).</summary>
    internal (int Entries, int NumberBytes) Capacity => (_entries.Capacity, _numbers.Capacity);

    public TunnelSample this[int index]
    {
        get
        {
            var entry = _entries[index];
            if (index == _entries.Count - 1)
            {
                return _latest!;
            }

            var run = KeyFrameOf(entry);
            if (entry.Numbers < 0)
            {
                return run.Sample;
            }

            var buffer = default(NumbersBuffer);
            return entry.Sample(run, NumbersOf(entry, ref buffer));
        }
    }

    public void Add(TunnelSample sample)
    {
        if (_entries.Count > 0 && _entries[^1] is var last && KeyFrameOf(last) is var run && SameShape(run.Sample, sample))
        {
            var length = run.Counters.Length;
            var counters = length <= StackCounters ? stackalloc ulong[length] : new ulong[length];
            Counters(sample, counters);
            var numbers = length <= StackCounters ? stackalloc uint[length] : new uint[length];
            if (Numbers(run, counters, numbers))
            {
                // An idle tunnel between probes has the same numbers as the sample before: they are kept once.
                var encoded = length <= StackCounters ? stackalloc byte[length * MaxBytesPerNumber] : new byte[length * MaxBytesPerNumber];
                encoded = encoded[..Encode(numbers, encoded)];
                var at = last.Numbers >= 0 && Encoded(last, encoded.Length).SequenceEqual(encoded) ? last.Numbers : Append(encoded);
                AddEntry(new Entry(sample.At.UtcTicks, last.KeyFrame, at));
                _latest = sample;
                return;
            }
        }

        var keyFrame = new ulong[CumulativeCount(sample) + ProbeCount(sample)];
        Counters(sample, keyFrame);
        _keyFrames.Add(new KeyFrame(sample, keyFrame));
        AddEntry(new Entry(sample.At.UtcTicks, _keyFrames.Count - 1, -1));
        _latest = sample;
    }

    /// <summary>Drops the samples older than <paramref name="windowStart"/> but the newest of them, so that the window's start stays covered.</summary>
    public void DropBefore(DateTimeOffset windowStart)
    {
        var firstInWindow = 0;
        while (firstInWindow < _entries.Count && _entries[firstInWindow].UtcTicks < windowStart.UtcTicks)
        {
            firstInWindow++;
        }

        // None in the window: all kept, not just the newest (only a caller asking past the latest sample sees this).
        if (firstInWindow <= 1 || firstInWindow == _entries.Count)
        {
            return;
        }

        _entries.RemoveRange(0, firstInWindow - 1);
        // Offsets only grow along the window: the first entry with numbers holds the oldest still needed.
        var oldest = _numbers.Count;
        for (var e = 0; e < _entries.Count; e++)
        {
            if (_entries[e].Numbers >= 0)
            {
                oldest = _entries[e].Numbers;
                break;
            }
        }

        _numbers.RemoveRange(0, oldest);
        var firstKeyFrame = _entries[0].KeyFrame;
        _keyFrames.RemoveRange(0, firstKeyFrame);
        foreach (ref var entry in CollectionsMarshal.AsSpan(_entries))
        {
            entry = new Entry(entry.UtcTicks, entry.KeyFrame - firstKeyFrame, entry.Numbers >= 0 ? entry.Numbers - oldest : -1);
        }
    }

    private void AddEntry(Entry entry)
    {
        if (_entries.Count == _entries.Capacity)
        {
            _entries.Capacity = _entries.Count + GrowBySamples;
        }

        _entries.Add(entry);
    }

    /// <summary>
    /// The oldest sample from <paramref name="start"/> on (of those the source answered in when
    /// <paramref name="needSourceUp"/>), or null; only that one is made again.
    /// </summary>
    public TunnelSample? Oldest(DateTimeOffset start, bool needSourceUp) => OldestIndex(start, needSourceUp) is var i and >= 0 ? this[i] : null;

    /// <summary>The counters of <see cref="Oldest"/>, read without making it again.</summary>
    public BaselineCounters? OldestCounters(DateTimeOffset start, bool needSourceUp)
    {
        var i = OldestIndex(start, needSourceUp);
        if (i < 0)
        {
            return null;
        }

        var entry = _entries[i];
        return i == _entries.Count - 1 ? new BaselineCounters(_latest!)
            : entry.Numbers < 0 ? new BaselineCounters(KeyFrameOf(entry).Sample)
            : new BaselineCounters(this, i, new DateTimeOffset(entry.UtcTicks, TimeSpan.Zero).ToOffset(KeyFrameOf(entry).Sample.At.Offset));
    }

    /// <summary>Of the sample at <paramref name="index"/> (neither the latest nor a key frame), the counters of the pair with <paramref name="key"/>.</summary>
    internal PairCounters? PairCounters(int index, PairKey key)
    {
        var entry = _entries[index];
        var pairs = KeyFrameOf(entry).Sample.Pairs;
        for (var p = 0; p < pairs.Count; p++)
        {
            if (pairs[p].Key == key)
            {
                var counters = KeyFrameOf(entry).Counters;
                var buffer = default(NumbersBuffer);
                var numbers = NumbersOf(entry, ref buffer);
                var at = p * CountersPerPair;
                return new PairCounters(
                    Known(pairs[p].SentBytes, counters[at] + numbers[at]),
                    Known(pairs[p].ReceivedBytes, counters[at + 1] + numbers[at + 1]),
                    Known(pairs[p].SentPackets, counters[at + 2] + numbers[at + 2]),
                    Known(pairs[p].ReceivedPackets, counters[at + 3] + numbers[at + 3]));
            }
        }

        return null;
    }

    /// <summary>Of the sample at <paramref name="index"/> (neither the latest nor a key frame), the echo requests and replies of the gateway (<paramref name="target"/> null) or an inside target.</summary>
    internal (ulong Requests, ulong Responses)? ProbeCounters(int index, IPAddress? target)
    {
        var entry = _entries[index];
        var shape = KeyFrameOf(entry).Sample;
        var gateways = shape.Gateway is null ? 0 : 1;
        var probe = -1;
        if (target is null)
        {
            probe = gateways - 1;
        }
        else
        {
            for (var t = 0; t < shape.Inside.Count && probe < 0; t++)
            {
                probe = shape.Inside[t].Target.Equals(target) ? gateways + t : -1;
            }
        }

        if (probe < 0)
        {
            return null;
        }

        var counters = KeyFrameOf(entry).Counters;
        var buffer = default(NumbersBuffer);
        var numbers = NumbersOf(entry, ref buffer);
        var at = (shape.Pairs.Count * CountersPerPair) + (probe * CountersPerProbe);
        return (counters[at] + numbers[at], counters[at + 1] + numbers[at + 1]);
    }

    private int OldestIndex(DateTimeOffset start, bool needSourceUp)
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            // A run's samples have their key frame's source state.
            if (_entries[i].UtcTicks >= start.UtcTicks && (KeyFrameOf(_entries[i]).Sample.SourceUp || !needSourceUp))
            {
                return i;
            }
        }

        return -1;
    }

    public IEnumerator<TunnelSample> GetEnumerator()
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private KeyFrame KeyFrameOf(Entry entry) => _keyFrames[entry.KeyFrame];

    private const int MaxBytesPerNumber = 5;

    /// <summary>The <paramref name="length"/> bytes of <paramref name="entry"/>'s numbers on (or as many as there are).</summary>
    private ReadOnlySpan<byte> Encoded(Entry entry, int length) =>
        CollectionsMarshal.AsSpan(_numbers)[entry.Numbers..][..Math.Min(length, _numbers.Count - entry.Numbers)];

    /// <summary>Room on the stack for a sample's numbers (<see cref="NumbersOf"/>).</summary>
    [InlineArray(StackCounters)]
    private struct NumbersBuffer
    {
        private uint _first;
    }

    /// <summary>
    /// <paramref name="entry"/>'s numbers (not a key frame's), as many as its key frame has counters, decoded into
    /// <paramref name="buffer"/> (into an array for a sample with more).
    /// </summary>
    private ReadOnlySpan<uint> NumbersOf(Entry entry, ref NumbersBuffer buffer)
    {
        var length = KeyFrameOf(entry).Counters.Length;
        var numbers = length <= StackCounters ? ((Span<uint>)buffer)[..length] : new uint[length];
        Decode(entry, numbers);
        return numbers;
    }

    private void Decode(Entry entry, Span<uint> numbers)
    {
        var bytes = CollectionsMarshal.AsSpan(_numbers)[entry.Numbers..];
        var at = 0;
        for (var i = 0; i < numbers.Length; i++)
        {
            var value = 0u;
            var shift = 0;
            byte next;
            do
            {
                next = bytes[at++];
                value |= (uint)(next & 0x7F) << shift;
                shift += 7;
            }
            while (next >= 0x80);
            numbers[i] = value;
        }
    }

    /// <returns>The bytes written.</returns>
    private static int Encode(ReadOnlySpan<uint> numbers, Span<byte> bytes)
    {
        var at = 0;
        foreach (var number in numbers)
        {
            var value = number;
            while (value >= 0x80)
            {
                bytes[at++] = (byte)(value | 0x80);
                value >>= 7;
            }

            bytes[at++] = (byte)value;
        }

        return at;
    }

    private int Append(ReadOnlySpan<byte> encoded)
    {
        if (_numbers.Count + encoded.Length > _numbers.Capacity)
        {
            // A few samples more at a time rather than doubled: the window settles at a steady size, and a doubled
            // buffer would keep up to half of it unused for every tunnel.
            _numbers.Capacity = _numbers.Count + (encoded.Length * GrowBySamples);
        }

        var at = _numbers.Count;
        _numbers.AddRange(encoded);
        return at;
    }

    /// <summary>
    /// What a sample has beyond its key frame: the cumulative counters (per pair 4 traffic counters, the rekeys and the
    /// times of the last packet sent and received in ticks, per probed target requests and responses, the IKE rekeys and
    /// the IKE SA's age in ticks), then the last RTT of each probed target in ticks. An absent value is 0: the key frame
    /// tells which are absent.
    /// </summary>
    private static void Counters(TunnelSample sample, Span<ulong> counters)
    {
        var i = 0;
        var rtt = CumulativeCount(sample);
        // Loops by index: foreach over an IReadOnlyList makes an enumerator.
        for (var p = 0; p < sample.Pairs.Count; p++)
        {
            var pair = sample.Pairs[p];
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

        for (var t = 0; t < sample.Inside.Count; t++)
        {
            Probe(sample.Inside[t].Counts, counters, ref i, ref rtt);
        }

        counters[i++] = (ulong)(sample.Ike?.Rekeys ?? 0);
        counters[i] = (ulong)(sample.Ike?.EstablishedFor?.Ticks ?? 0);

        static void Probe(ProbeCounts counts, Span<ulong> counters, ref int i, ref int rtt)
        {
            counters[i++] = counts.Requests;
            counters[i++] = counts.Responses;
            counters[rtt++] = (ulong)(counts.LastRtt?.Ticks ?? 0);
        }
    }

    /// <summary>Cumulative counters per pair and per probed target, in the order <see cref="Counters"/> writes them.</summary>
    private const int CountersPerPair = 7;

    private const int CountersPerProbe = 2;

    private static ulong? Known(ulong? shape, ulong value) => shape is null ? null : value;

    private static int ProbeCount(TunnelSample sample) => (sample.Gateway is null ? 0 : 1) + sample.Inside.Count;

    private static int CumulativeCount(TunnelSample sample) => (sample.Pairs.Count * CountersPerPair) + (ProbeCount(sample) * CountersPerProbe) + 2;

    /// <summary>
    /// <paramref name="counters"/> as growth since <paramref name="keyFrame"/> (RTTs as they are) into
    /// <paramref name="numbers"/>; false when a value does not fit in 32 bits or a counter went down.
    /// </summary>
    private static bool Numbers(KeyFrame keyFrame, ReadOnlySpan<ulong> counters, Span<uint> numbers)
    {
        var cumulative = CumulativeCount(keyFrame.Sample);
        for (var i = 0; i < counters.Length; i++)
        {
            var value = i < cumulative ? counters[i] - keyFrame.Counters[i] : counters[i];
            if ((i < cumulative && counters[i] < keyFrame.Counters[i]) || value > uint.MaxValue)
            {
                return false;
            }

            numbers[i] = (uint)value;
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="sample"/> is <paramref name="keyFrame"/> with other counters (<see cref="Counters"/>),
    /// the same ones absent. Field by field rather than through a copy with the counters replaced, which would cost a
    /// copy of every pair and of the IKE SA per sample; <see cref="PairFields"/> and <see cref="IkeFields"/> name the
    /// fields handled (a test holds them to the records).
    /// </summary>
    private static bool SameShape(TunnelSample keyFrame, TunnelSample sample)
    {
        if (keyFrame.At.Offset != sample.At.Offset
            || keyFrame.SourceUp != sample.SourceUp
            || !SameIke(keyFrame.Ike, sample.Ike)
            || !Equals(keyFrame.RemoteGatewayAddress, sample.RemoteGatewayAddress)
            || keyFrame.Internet != sample.Internet
            || !Items.Equal(keyFrame.BestPractices, sample.BestPractices)
            || keyFrame.Pairs.Count != sample.Pairs.Count
            || keyFrame.Inside.Count != sample.Inside.Count
            || !SameShape(keyFrame.Gateway, sample.Gateway))
        {
            return false;
        }

        for (var i = 0; i < sample.Pairs.Count; i++)
        {
            if (!SamePair(keyFrame.Pairs[i], sample.Pairs[i]))
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

    /// <summary>Everything but the counters equal, and the same counters absent (times with the same offsets).</summary>
    private static bool SamePair(PairObservation a, PairObservation b) => ReferenceEquals(a, b)
        || (Equals(a.Pair, b.Pair)
            && a.LocalTs == b.LocalTs
            && a.RemoteTs == b.RemoteTs
            && a.InstalledChildSas == b.InstalledChildSas
            && a.RekeyInterval == b.RekeyInterval
            && a.Lifetime == b.Lifetime
            && a.LastRekeyAfter == b.LastRekeyAfter
            && a.DhGroup == b.DhGroup
            && a.Pfs == b.Pfs
            && a.State == b.State
            && a.StateText == b.StateText
            && a.SentBytes.HasValue == b.SentBytes.HasValue && a.ReceivedBytes.HasValue == b.ReceivedBytes.HasValue
            && a.SentPackets.HasValue == b.SentPackets.HasValue && a.ReceivedPackets.HasValue == b.ReceivedPackets.HasValue
            && a.LastSent?.Offset == b.LastSent?.Offset && a.LastReceived?.Offset == b.LastReceived?.Offset);

    private static bool SameIke(IkeObservation? a, IkeObservation? b) => a is null
        ? b is null
        : b is not null && (ReferenceEquals(a, b)
            || (a.Established == b.Established
                && a.SaCount == b.SaCount
                && Equals(a.LocalHost, b.LocalHost)
                && Equals(a.RemoteHost, b.RemoteHost)
                && a.EstablishedFor.HasValue == b.EstablishedFor.HasValue
                && a.DhGroup == b.DhGroup
                && a.Downs == b.Downs
                && a.RekeyInterval == b.RekeyInterval
                && a.LastRekeyAfter == b.LastRekeyAfter
                && a.State == b.State
                && a.StateText == b.StateText));

    /// <summary>Every field of <see cref="PairObservation"/> that <see cref="Counters"/> keeps or <see cref="SamePair"/> compares.</summary>
    internal static readonly IReadOnlyList<string> PairFields =
    [
        nameof(PairObservation.SentBytes), nameof(PairObservation.ReceivedBytes), nameof(PairObservation.SentPackets),
        nameof(PairObservation.ReceivedPackets), nameof(PairObservation.Rekeys), nameof(PairObservation.LastSent),
        nameof(PairObservation.LastReceived), nameof(PairObservation.Pair), nameof(PairObservation.LocalTs),
        nameof(PairObservation.RemoteTs), nameof(PairObservation.InstalledChildSas), nameof(PairObservation.RekeyInterval),
        nameof(PairObservation.Lifetime), nameof(PairObservation.LastRekeyAfter), nameof(PairObservation.DhGroup),
        nameof(PairObservation.Pfs), nameof(PairObservation.State), nameof(PairObservation.StateText),
    ];

    /// <summary>Every field of <see cref="IkeObservation"/> that <see cref="Counters"/> keeps or <see cref="SameIke"/> compares.</summary>
    internal static readonly IReadOnlyList<string> IkeFields =
    [
        nameof(IkeObservation.Rekeys), nameof(IkeObservation.EstablishedFor), nameof(IkeObservation.Established),
        nameof(IkeObservation.SaCount), nameof(IkeObservation.LocalHost), nameof(IkeObservation.RemoteHost),
        nameof(IkeObservation.DhGroup), nameof(IkeObservation.Downs), nameof(IkeObservation.RekeyInterval),
        nameof(IkeObservation.LastRekeyAfter), nameof(IkeObservation.State), nameof(IkeObservation.StateText),
    ];

    /// <summary>The first sample of a run, with its <see cref="Counters"/>.</summary>
    private sealed record KeyFrame(TunnelSample Sample, ulong[] Counters);

    /// <summary>
    /// One sample: its time, the index of its key frame in <see cref="_keyFrames"/> and the offset of its numbers
    /// relative to it in the window's buffer (-1 for the key frame itself).
    /// </summary>
    private readonly record struct Entry(long UtcTicks, int KeyFrame, int Numbers)
    {
        /// <summary>The sample of an entry that is not its run's key frame.</summary>
        /// <param name="run">This entry's key frame (<see cref="KeyFrameOf"/>).</param>
        /// <param name="numbers">This entry's numbers (<see cref="NumbersOf"/>).</param>
        public TunnelSample Sample(KeyFrame run, ReadOnlySpan<uint> numbers)
        {
            var keyFrame = run.Sample;
            var counters = run.Counters;
            var i = 0;
            var rtt = CumulativeCount(keyFrame);
            var pairs = new PairObservation[keyFrame.Pairs.Count];
            for (var p = 0; p < pairs.Length; p++)
            {
                var pair = keyFrame.Pairs[p];
                pairs[p] = pair with
                {
                    SentBytes = Known(pair.SentBytes, Next(counters, numbers, ref i)),
                    ReceivedBytes = Known(pair.ReceivedBytes, Next(counters, numbers, ref i)),
                    SentPackets = Known(pair.SentPackets, Next(counters, numbers, ref i)),
                    ReceivedPackets = Known(pair.ReceivedPackets, Next(counters, numbers, ref i)),
                    Rekeys = (long)Next(counters, numbers, ref i),
                    LastSent = Time(pair.LastSent, Next(counters, numbers, ref i)),
                    LastReceived = Time(pair.LastReceived, Next(counters, numbers, ref i)),
                };
            }

            var gateway = keyFrame.Gateway is { } g ? Probe(g, counters, numbers, ref i, ref rtt) : null;
            IReadOnlyList<InsideSample> inside = [];
            if (keyFrame.Inside.Count > 0)
            {
                var targets = new InsideSample[keyFrame.Inside.Count];
                for (var t = 0; t < targets.Length; t++)
                {
                    targets[t] = keyFrame.Inside[t] with { Counts = Probe(keyFrame.Inside[t].Counts, counters, numbers, ref i, ref rtt) };
                }

                inside = targets;
            }

            var (ikeRekeys, ikeAge) = (Next(counters, numbers, ref i), Next(counters, numbers, ref i));
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
        private static ulong Next(ulong[] counters, ReadOnlySpan<uint> numbers, ref int i)
        {
            var value = counters[i] + numbers[i];
            i++;
            return value;
        }

        private static ProbeCounts Probe(ProbeCounts shape, ulong[] counters, ReadOnlySpan<uint> numbers, ref int i, ref int rtt)
        {
            var (requests, responses, ticks) = (Next(counters, numbers, ref i), Next(counters, numbers, ref i), numbers[rtt++]);
            return new ProbeCounts(requests, responses, shape.LastRtt is null ? null : TimeSpan.FromTicks(ticks));
        }

        private static DateTimeOffset? Time(DateTimeOffset? shape, ulong utcTicks) => shape is { } s ? new DateTimeOffset((long)utcTicks, TimeSpan.Zero).ToOffset(s.Offset) : null;
    }
}

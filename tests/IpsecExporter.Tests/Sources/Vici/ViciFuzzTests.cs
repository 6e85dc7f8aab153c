using System.Buffers.Binary;
using System.Diagnostics;
using CsCheck;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>
/// A bounded fuzzing campaign over the VICI decoder and the payload mapping behind it, from the golden recordings of a
/// real charon, mutated, and from generated element soup. Only the typed errors may come out: ViciProtocolException
/// from the decoder; from a collection also charon's ViciCommandException, or IOException for a stream that ends early.
/// Never another exception, never a hang, and decoding a frame allocates a bounded multiple of its size.
/// <c>VICI_FUZZ_ITERATIONS</c> runs a longer campaign; every input in Fixtures/vici/fuzz (crashers and edge cases) is
/// replayed as a regression test.
/// </summary>
public sealed class ViciFuzzTests
{
    /// <summary>
    /// Every element allocates its strings, tuples and section objects. The worst case is a frame of empty sibling
    /// sections (4 bytes each, Fixtures/vici/fuzz/many-sections.bin): 67 bytes per input byte, so a frame at the 512 KiB
    /// limit decodes into at most about 40 MiB, and nothing larger than a frame can arrive.
    /// </summary>
    private const long AllocationPerByte = 80;

    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("VICI_FUZZ_ITERATIONS"), out var n) ? n : 4000;

    private static readonly byte[][] Recordings = Directory.GetFiles(Fixtures.Path("vici"), "*.bin", SearchOption.AllDirectories)
        .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}fuzz{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .Select(File.ReadAllBytes)
        .ToArray();

    /// <summary>Each recorded frame's data (without the length prefix).</summary>
    private static readonly byte[][] Frames = Recordings.SelectMany(Split).ToArray();

    [Fact]
    public void Mutated_golden_frames_decode_or_fail_with_a_protocol_error_within_bounds()
    {
        Assert.True(Frames.Length > 10, "the golden recordings hold the seed frames");
        Mutated(Frames).Sample(DecodeWithinBounds, iter: Iterations);
    }

    [Fact]
    public void Generated_element_soup_decodes_or_fails_with_a_protocol_error_within_bounds()
    {
        // Bytes mostly from the small values that are packet and element types and short lengths.
        var soup = Gen.Frequency((6, Gen.Byte[0, 8]), (1, Gen.Byte)).Array[0, 600];
        soup.Sample(DecodeWithinBounds, iter: Iterations);
    }

    [Fact]
    public void Mutated_recordings_replayed_into_a_collection_fail_only_with_typed_errors()
    {
        Mutated(Recordings).Sample(recording =>
        {
            var collect = Task.Run(async () =>
            {
                var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(56));
                await using var connection = new ViciConnection(new ReplayStream(recording), time, TimeSpan.FromSeconds(1));
                try
                {
                    var version = await connection.CallAsync("version", null, CancellationToken.None);
                    await ViciSaSource.QueryAsync(connection, version, null, null, time, CancellationToken.None);
                }
                catch (Exception e) when (e is ViciProtocolException or ViciCommandException or IOException)
                {
                    // The typed outcomes: malformed data, a refusal or failure charon reports, or a recording that ended
                    // before the answer.
                }
            });
            Assert.True(collect.Wait(TimeSpan.FromSeconds(10)), "the collection hung");
            collect.GetAwaiter().GetResult();
        }, iter: Iterations / 4);
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Every_kept_input_decodes_or_fails_with_a_protocol_error(string name)
    {
        var data = File.ReadAllBytes(Fixtures.Path("vici", "fuzz", name));

        DecodeWithinBounds(data);
    }

    [Fact]
    public void Sections_nested_deeper_than_charon_ever_sends_are_refused()
    {
        var data = File.ReadAllBytes(Fixtures.Path("vici", "fuzz", "deep-sections.bin"));

        var error = Assert.Throws<ViciProtocolException>(() => ViciCodec.DecodePacket(data));

        Assert.Equal($"section at offset {1 + (3 * ViciCodec.MaxSectionDepth)} nested deeper than {ViciCodec.MaxSectionDepth} levels", error.Message);
    }

    public static TheoryData<string> Corpus() => new(Directory.GetFiles(Fixtures.Path("vici", "fuzz")).Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    private static void DecodeWithinBounds(byte[] data)
    {
        var decode = Task.Run(() =>
        {
            // The first decode on a thread pool thread also creates that thread's scratch lists (about 10 KB, kept
            // for its later decodes): what is bounded is what each decode costs.
            Decode(data);
            var before = GC.GetAllocatedBytesForCurrentThread();
            Decode(data);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Assert.True(decode.Wait(TimeSpan.FromSeconds(5)), "decoding hung");
        var allocated = decode.GetAwaiter().GetResult();
        Assert.True(allocated <= (AllocationPerByte * data.Length) + 4096, $"decoding {data.Length} bytes allocated {allocated}");
    }

    private static void Decode(byte[] data)
    {
        try
        {
            ViciCodec.DecodePacket(data);
        }
        catch (ViciProtocolException)
        {
            // The one typed outcome for malformed data.
        }
    }

    /// <summary>Seeds with a few edits: bit flips, random bytes, cuts, inserted or repeated slices, tweaked lengths.</summary>
    private static Gen<byte[]> Mutated(byte[][] seeds) =>
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Select(Gen.Int[0, 5], Gen.Double[0, 1], Gen.Double[0, 1], Gen.Byte).Array[1, 5], (seed, edits) =>
        {
            var data = seeds[seed].ToList();
            foreach (var (kind, where, size, value) in edits)
            {
                var at = Math.Min((int)(where * data.Count), Math.Max(data.Count - 1, 0));
                var length = (int)(size * Math.Min(64, data.Count - at));
                switch (kind)
                {
                    case 0 when data.Count > 0:
                        data[at] ^= (byte)(1 << (value % 8));
                        break;
                    case 1 when data.Count > 0:
                        data[at] = value;
                        break;
                    case 2:
                        data.RemoveRange(at, length);
                        break;
                    case 3:
                        data.InsertRange(at, Enumerable.Repeat(value, length + 1));
                        break;
                    case 4:
                        data.InsertRange(at, data.GetRange(at, length));
                        break;
                    default:
                        data = data.Take(at).ToList();
                        break;
                }
            }

            return data.ToArray();
        });

    private static IEnumerable<byte[]> Split(byte[] recording)
    {
        for (var offset = 0; offset + 4 <= recording.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(recording.AsSpan(offset));
            Debug.Assert(offset + 4 + length <= recording.Length, "a recording holds whole frames");
            yield return recording.AsSpan(offset + 4, length).ToArray();
            offset += 4 + length;
        }
    }
}

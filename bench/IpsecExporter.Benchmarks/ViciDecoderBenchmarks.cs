using System.Buffers.Binary;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// The VICI decoder on a <c>list-sas</c> answer as charon streams it: one <c>list-sa</c> event per IKE SA, then the
/// command response. The stream is built from the recorded frames of tests/.../Fixtures/vici/healthy, as
/// bench/vici-hub/server.cs builds its answers: every IKE SA (connection <c>c&lt;i&gt;</c>) carries two copies of the
/// recorded CHILD SA, each with its own unique id, SPIs and selectors.
/// </summary>
[MemoryDiagnoser]
public class ViciDecoderBenchmarks
{
    private byte[] _stream = [];
    private readonly ViciSectionBlocks _blocks = new();

    [Params(100, 1000)]
    public int IkeSas { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var recorded = Decode(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "healthy-01.bin")))
            .First(p => p is { Type: ViciPacketType.Event, Name: "list-sa" }).Message!.Sections[0].Section;
        var recordedChild = recorded.Section("child-sas")!.Sections[0].Section;
        using var stream = new MemoryStream();
        for (var i = 0; i < IkeSas; i++)
        {
            var children = new ViciSection();
            foreach (var (name, id, local, remote) in new[] { ("net", (2 * i) + 1, $"10.{i / 256 % 256}.{i % 256}.0/24", $"172.16.{i / 256 % 256}.{i % 256}/32"), ("net6", (2 * i) + 2, $"fd00:{i:x}:1::/64", $"fd00:{i:x}:2::/64") })
            {
                var uniqueId = id.ToString(CultureInfo.InvariantCulture);
                children.AddSection($"{name}-{uniqueId}", Replaced(recordedChild, new() { ["name"] = name, ["uniqueid"] = uniqueId, ["spi-in"] = $"c{id:x7}", ["spi-out"] = $"d{id:x7}", ["local-ts"] = local, ["remote-ts"] = remote }));
            }

            var ike = Replaced(recorded, new() { ["uniqueid"] = (i + 1).ToString(CultureInfo.InvariantCulture), ["initiator-spi"] = $"{i:x8}a1000000", ["responder-spi"] = $"{i:x8}e5000000" })
                .AddSection("child-sas", children);
            stream.Write(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection($"c{i}", ike))));
        }

        stream.Write(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection())));
        _stream = stream.ToArray();
    }

    /// <summary>Every frame of the stream decoded into packets and message trees.</summary>
    [Benchmark]
    public List<ViciPacket> DecodeFrames() => Decode(_stream);

    /// <summary>
    /// Each frame decoded and its <c>list-sa</c> message mapped into the source-neutral SAs before the next frame is
    /// decoded, as a collection does (<c>ViciSaSource.QueryAsync</c>, its sections' entries in reused blocks). The
    /// blocks are the connection's, kept from poll to poll, so the steady state is measured: the values the previous
    /// answer had come from their pool.
    /// </summary>
    [Benchmark]
    public int DecodeAndMap()
    {
        var ikeSas = new List<IkeSa>();
        var blocks = _blocks;
        blocks.NextAnswer();
        ForEachFrame(_stream, blocks, packet =>
        {
            if (packet.Type == ViciPacketType.Event)
            {
                ViciSaMapper.MapListSa(packet.Message!, ikeSas);
            }
        });
        return ikeSas.Count;
    }

    /// <summary>Each length-prefixed frame of <paramref name="stream"/>, decoded.</summary>
    private static List<ViciPacket> Decode(byte[] stream)
    {
        var packets = new List<ViciPacket>();
        ForEachFrame(stream, null, packets.Add);
        return packets;
    }

    /// <summary>Each frame decoded in place, as <c>ViciConnection</c> decodes what it reads.</summary>
    private static void ForEachFrame(byte[] stream, ViciSectionBlocks? blocks, Action<ViciPacket> handle)
    {
        for (var offset = 0; offset < stream.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(stream.AsSpan(offset));
            handle(ViciCodec.DecodeFrame(stream.AsMemory(offset + 4, length), blocks));
            offset += 4 + length;
        }
    }

    /// <summary>A copy of a recorded section with some values (and single-item lists) replaced and without its CHILD SAs.</summary>
    private static ViciSection Replaced(ViciSection recorded, Dictionary<string, string> replacements)
    {
        var copy = new ViciSection();
        foreach (var (name, value) in recorded.Values)
        {
            copy.Add(name, replacements.GetValueOrDefault(name, value));
        }

        foreach (var (name, items) in recorded.Lists)
        {
            copy.AddList(name, replacements.TryGetValue(name, out var item) ? [item] : items);
        }

        foreach (var (name, section) in recorded.Sections.Where(s => s.Name != "child-sas"))
        {
            copy.AddSection(name, section);
        }

        return copy;
    }
}

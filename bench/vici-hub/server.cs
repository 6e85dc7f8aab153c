#:project ../../src/IpsecExporter/IpsecExporter.csproj
// A VICI server shaped like a hub's charon, for the hub-scale benchmark (docs/PERFORMANCE.md):
//   dotnet run bench/vici-hub/server.cs -- SOCKET TUNNELS [CONFIG_OUT]
// listens on the unix socket SOCKET and answers version, stats, list-conns and list-sas as charon 5.9.8 does: list-sas
// streams one list-sa event per IKE SA, then the command response. Every IKE SA (connection c<i>) carries 2 CHILD SAs
// (an IPv4 and an IPv6 pair), each a copy of the recorded CHILD SA of tests/.../Fixtures/vici/healthy with its own
// unique id, SPIs and selectors; counters grow with every list-sas. Event registrations are confirmed, no events are
// sent. CONFIG_OUT, when given, receives an exporter configuration with one tunnel per IKE SA.
using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using IpsecExporter.Sources.Vici;

var socketPath = args[0];
var tunnels = int.Parse(args[1], CultureInfo.InvariantCulture);
var fixture = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..", "tests", "IpsecExporter.Tests", "Fixtures", "vici", "healthy", "01.bin");
fixture = File.Exists(fixture) ? fixture : Path.Combine(Directory.GetCurrentDirectory(), "tests/IpsecExporter.Tests/Fixtures/vici/healthy/01.bin");
var (templateIke, templateChild) = Template(File.ReadAllBytes(fixture));

if (args.Length > 2)
{
    using var config = new StreamWriter(args[2]);
    config.Write($"site: {{ name: hub }}\nsources:\n  - {{ name: gw, type: vici, uri: \"unix://{socketPath}\" }}\nprobes: {{ interval: 60s, timeout: 2s }}\ntunnels:\n");
    for (var i = 0; i < tunnels; i++)
    {
        config.Write(string.Create(CultureInfo.InvariantCulture, $"  - name: t{i}\n    connection: c{i}\n    remote_gateway: 127.0.0.1\n    network_pairs:\n      - {{ local: {V4Local(i)}, remote: {V4Remote(i)} }}\n      - {{ local: \"{V6Local(i)}\", remote: \"{V6Remote(i)}\" }}\n"));
    }
}

File.Delete(socketPath);
using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
listener.Bind(new UnixDomainSocketEndPoint(socketPath));
listener.Listen(16);
var round = 0L;
var since = DateTime.Now.AddHours(-1).ToString("MMM dd HH:mm:ss yyyy", CultureInfo.InvariantCulture);
Console.WriteLine($"serving {tunnels} IKE SAs / {2 * tunnels} CHILD SAs on {socketPath}");
while (true)
{
    var client = await listener.AcceptAsync();
    _ = Task.Run(() => ServeAsync(new NetworkStream(client, ownsSocket: true)));
}

async Task ServeAsync(NetworkStream stream)
{
    await using var _ = stream;
    var header = new byte[4];
    try
    {
        while (await stream.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false) == 4)
        {
            var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
            await stream.ReadExactlyAsync(data);
            var request = ViciCodec.DecodePacket(data);
            if (request.Type is ViciPacketType.EventRegister or ViciPacketType.EventUnregister)
            {
                await stream.WriteAsync(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.EventConfirm, null, null)));
                continue;
            }

            var answer = new ViciSection();
            switch (request.Name)
            {
                case "version":
                    answer.Add("daemon", "charon").Add("version", "5.9.8").Add("sysname", "Linux").Add("release", "6.1.0").Add("machine", "x86_64");
                    break;
                case "stats":
                    answer.AddSection("uptime", new ViciSection().Add("running", "1 hour").Add("since", since));
                    break;
                case "list-conns":
                    await StreamAsync(stream, "list-conn", i => Connection(i));
                    break;
                case "list-sas":
                    var traffic = (ulong)Interlocked.Increment(ref round) * 8400;
                    await StreamAsync(stream, "list-sa", i => Ike(i, traffic));
                    break;
            }

            await stream.WriteAsync(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.CmdResponse, null, answer)));
        }
    }
    catch (IOException)
    {
    }
}

// One event per IKE SA / connection, written in batches as charon's buffered socket writes land.
async Task StreamAsync(NetworkStream stream, string eventName, Func<int, ViciSection> section)
{
    var batch = new MemoryStream();
    for (var i = 0; i < tunnels; i++)
    {
        batch.Write(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, eventName, new ViciSection().AddSection($"c{i}", section(i)))));
        if (batch.Length > 64 * 1024)
        {
            await stream.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length));
            batch.SetLength(0);
        }
    }

    await stream.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length));
}

ViciSection Ike(int i, ulong traffic)
{
    var children = new ViciSection()
        .AddSection($"net-{(2 * i) + 1}", Child(templateChild, (2 * i) + 1, V4Local(i), V4Remote(i), traffic))
        .AddSection($"net6-{(2 * i) + 2}", Child(templateChild, (2 * i) + 2, V6Local(i), V6Remote(i), traffic));
    return Copy(templateIke, (key, value) => key switch
    {
        "uniqueid" => (i + 1).ToString(CultureInfo.InvariantCulture),
        "initiator-spi" => $"{i:x8}a1b2c3d4",
        "responder-spi" => $"{i:x8}e5f6a7b8",
        _ => value,
    }, children);
}

static ViciSection Child(ViciSection template, int uniqueId, string local, string remote, ulong traffic) =>
    Copy(template, (key, value) => key switch
    {
        "uniqueid" => uniqueId.ToString(CultureInfo.InvariantCulture),
        "spi-in" => $"c{uniqueId:x7}",
        "spi-out" => $"d{uniqueId:x7}",
        "bytes-in" or "bytes-out" => traffic.ToString(CultureInfo.InvariantCulture),
        "packets-in" or "packets-out" => (traffic / 84).ToString(CultureInfo.InvariantCulture),
        _ => value,
    }, null, local, remote);

static ViciSection Connection(int i) =>
    new ViciSection()
        .AddList("local_addrs", ["198.51.100.1"]).AddList("remote_addrs", ["%any"]).Add("version", "IKEv2").Add("reauth_time", "0").Add("rekey_time", "14400")
        .AddSection("children", new ViciSection()
            .AddSection("net", new ViciSection().Add("mode", "TUNNEL").Add("rekey_time", "3600").AddList("local-ts", [V4Local(i)]).AddList("remote-ts", [V4Remote(i)]))
            .AddSection("net6", new ViciSection().Add("mode", "TUNNEL").Add("rekey_time", "3600").AddList("local-ts", [V6Local(i)]).AddList("remote-ts", [V6Remote(i)])));

// A copy of a recorded section with some values replaced, its child-sas replaced, and its selectors replaced.
static ViciSection Copy(ViciSection template, Func<string, string, string> value, ViciSection? children, string? local = null, string? remote = null)
{
    var copy = new ViciSection();
    foreach (var (key, text) in template.Values)
    {
        copy.Add(key, value(key, text));
    }

    foreach (var (key, items) in template.Lists)
    {
        copy.AddList(key, key switch { "local-ts" when local is not null => [local], "remote-ts" when remote is not null => [remote], _ => items });
    }

    foreach (var (key, section) in template.Sections)
    {
        copy.AddSection(key, key == "child-sas" && children is not null ? children : section);
    }

    return copy;
}

static (ViciSection Ike, ViciSection Child) Template(byte[] recorded)
{
    for (var offset = 0; offset < recorded.Length;)
    {
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(recorded.AsSpan(offset));
        var packet = ViciCodec.DecodePacket(recorded.AsSpan(offset + 4, length));
        offset += 4 + length;
        if (packet is { Type: ViciPacketType.Event, Name: "list-sa", Message: { } message })
        {
            var ike = message.Sections[0].Section;
            return (ike, ike.Section("child-sas")!.Sections[0].Section);
        }
    }

    throw new InvalidDataException("no list-sa event in the recorded frames");
}

static string V4Local(int i) => $"10.{i / 256 % 256}.{i % 256}.0/24";
static string V4Remote(int i) => $"172.{16 + (i / 65536)}.{i / 256 % 256}.{i % 256}/32";
static string V6Local(int i) => $"fd00:{i:x}:1::/64";
static string V6Remote(int i) => $"fd00:{i:x}:2::/64";

#:project ../../src/IpsecExporter/IpsecExporter.csproj
// A VICI server shaped like a hub's charon, for the hub-scale benchmark and the soak (docs/PERFORMANCE.md):
//   dotnet run bench/vici-hub/server.cs -- SOCKET TUNNELS [CONFIG_OUT] [--child-rekey S] [--ike-rekey S] [--no-events] [--inside K] [--interval S]
// listens on the unix socket SOCKET and answers version, stats, list-conns and list-sas as charon 5.9.8 does: list-sas
// streams one list-sa event per IKE SA, then the command response. Every IKE SA (connection c<i>) carries 2 CHILD SAs
// (an IPv4 and an IPv6 pair), each a copy of the recorded CHILD SA of tests/.../Fixtures/vici/healthy with its own
// unique id, SPIs and selectors; each SA's counters grow by 100 packets of 84 bytes a second per direction.
//   --child-rekey S: every CHILD SA is rekeyed every S seconds (their rekeys spread evenly over the S seconds): the
//     new SA gets the next unique id and new SPIs and counts from zero; the old one keeps its final counters. The
//     rekeys of a pair take three shapes in turn, as polls see them (docs/VICI.md): the old SA listed as DELETED
//     beside the new INSTALLED one by the next list-sas, listed as REKEYED beside it, or simply replaced (not listed
//     again). A child-rekey event with both goes to every connection registered for it. S must exceed the poll
//     interval: a pair rekeyed twice between two list-sas is counted as skipped.
//   --ike-rekey S: every 5th IKE SA is rekeyed every S seconds (new unique id and SPIs; its CHILD SAs move to the new
//     IKE SA; the old one is not listed any more); an ike-rekey event goes to every connection registered for it.
//   --no-events: the event registrations are confirmed, as charon does, but no event is ever sent (as after a lost
//     event connection): rekeys are seen only by polling.
// Without the rekey options nothing changes and no events are sent. CONFIG_OUT, when given, receives an exporter
// configuration with one tunnel per IKE SA (source interval S with --interval); with --inside K each tunnel's remote
// gateway is its own loopback address 127.1.x.y, its IPv4 pair is 127.0.0.0/24 to 127.<2+i/256>.<i%256>.0/24, and K
// inside targets there (.1 to .K) are probed from 127.0.0.1, every second; without it probes go to 127.0.0.1 every 60 s.
// Commands on standard input, one a line (bench/vici-hub/run.sh --rekeys drives them through a FIFO):
//   freeze FILE: the server's clock stops (no rekey, no counter growth) and, once two list-sas have been answered
//     since (the first still lists the SAs retired just before, the second is the settled state), FILE receives what
//     it made per CHILD SA pair since it started: one tab-separated line per pair with its tunnel and selectors as the
//     configuration names them, its rekeys per shape, the bytes (per direction) of its retired SAs and of the current
//     one, the bytes no list-sas could show (the last seconds of an SA replaced between two polls, which only an
//     event would carry) and the rekeys skipped by polls; then the totals and how often each lingering shape was listed.
//   resume: the clock runs on from where it stopped.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using IpsecExporter.Sources.Vici;

const double PacketsPerSecond = 100;
const ulong PacketBytes = 84;
const int IkeChurnEvery = 5;

var socketPath = args[0];
var tunnels = int.Parse(args[1], CultureInfo.InvariantCulture);
var configOut = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? args[2] : null;
var options = new Dictionary<string, double> { ["child-rekey"] = 0, ["ike-rekey"] = 0, ["inside"] = 0, ["interval"] = 0 };
var noEvents = false;
for (var a = configOut is null ? 2 : 3; a < args.Length; a++)
{
    var name = args[a].StartsWith("--", StringComparison.Ordinal) ? args[a][2..] : "";
    if (name == "no-events")
    {
        noEvents = true;
    }
    else if (options.ContainsKey(name) && a + 1 < args.Length)
    {
        options[name] = double.Parse(args[++a], CultureInfo.InvariantCulture);
    }
    else
    {
        throw new ArgumentException($"unknown option or missing value: {args[a]}");
    }
}

var (childRekey, ikeRekey, inside, interval) = (options["child-rekey"], options["ike-rekey"], (int)options["inside"], options["interval"]);
var childCount = 2 * tunnels;
var fixture = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..", "tests", "IpsecExporter.Tests", "Fixtures", "vici", "healthy", "01.bin");
fixture = File.Exists(fixture) ? fixture : Path.Combine(Directory.GetCurrentDirectory(), "tests/IpsecExporter.Tests/Fixtures/vici/healthy/01.bin");
var (templateIke, templateChild) = Template(File.ReadAllBytes(fixture));

if (configOut is not null)
{
    using var config = new StreamWriter(configOut);
    var sourceInterval = interval > 0 ? string.Create(CultureInfo.InvariantCulture, $", interval: {interval}s") : "";
    config.Write($"site: {{ name: hub }}\nsources:\n  - {{ name: gw, type: vici, uri: \"unix://{socketPath}\"{sourceInterval} }}\nprobes: {{ interval: {(inside > 0 ? "1s" : "60s")}, timeout: 2s }}\ntunnels:\n");
    for (var i = 0; i < tunnels; i++)
    {
        var gateway = inside > 0 ? $"127.1.{i / 250}.{(i % 250) + 1}" : "127.0.0.1";
        config.Write(string.Create(CultureInfo.InvariantCulture, $"  - name: t{i}\n    connection: c{i}\n    remote_gateway: {gateway}\n    network_pairs:\n      - {{ local: {V4Local(i)}, remote: {V4Remote(i)} }}\n      - {{ local: \"{V6Local(i)}\", remote: \"{V6Remote(i)}\" }}\n"));
        if (inside > 0)
        {
            var targets = string.Join(", ", Enumerable.Range(1, inside).Select(k => $"127.{2 + (i / 256)}.{i % 256}.{k}"));
            config.Write($"    inside: {{ source: 127.0.0.1, targets: [{targets}] }}\n");
        }
    }
}

File.Delete(socketPath);
using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
listener.Bind(new UnixDomainSocketEndPoint(socketPath));
listener.Listen(16);
var clock = Stopwatch.StartNew();
// The server's own time: the stopwatch less the time spent frozen, and while frozen the moment it froze.
var control = new Lock();
double? frozenAt = null;
var frozenFor = 0.0;
(string Path, int Polls)? report = null;
// What the last list-sas showed of each CHILD SA pair (its installed generation and packets), and what polls missed.
var polling = new Lock();
var polled = new (long Generation, ulong Packets)[childCount];
var unseenPackets = new ulong[childCount];
var skipped = new long[childCount];
var lingeringListed = new long[3];
var since = DateTime.Now.AddHours(-1).ToString("MMM dd HH:mm:ss yyyy", CultureInfo.InvariantCulture);
new Thread(ReadCommands) { IsBackground = true }.Start();
Console.WriteLine($"serving {tunnels} IKE SAs / {childCount} CHILD SAs on {socketPath}, CHILD rekey every {childRekey} s, IKE rekey every {ikeRekey} s{(noEvents ? ", no events" : "")}");
while (true)
{
    var client = await listener.AcceptAsync();
    _ = Task.Run(() => ServeAsync(new Client(new NetworkStream(client, ownsSocket: true))));
}

double Now()
{
    lock (control)
    {
        return frozenAt ?? (clock.Elapsed.TotalSeconds - frozenFor);
    }
}

void ReadCommands()
{
    while (Console.In.ReadLine() is { } line)
    {
        var words = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lock (control)
        {
            switch (words)
            {
                case ["freeze", var path]:
                    frozenAt ??= clock.Elapsed.TotalSeconds - frozenFor;
                    report = (path, 0);
                    break;
                case ["resume"] when frozenAt is { } at:
                    frozenFor = clock.Elapsed.TotalSeconds - at;
                    frozenAt = null;
                    report = null;
                    break;
                default:
                    Console.Error.WriteLine($"unknown command: {line} (freeze FILE, resume)");
                    continue;
            }
        }

        Console.WriteLine($"{line} at {Now():F1} s");
    }
}

// The time a list-sas shows, and the report file that is due before it is answered (the third list-sas since a freeze:
// the two before it are applied by the poller then).
(double Now, string? Report) PollTime()
{
    lock (control)
    {
        var now = Now();
        if (frozenAt is null || report is not { } due)
        {
            return (now, null);
        }

        report = due.Polls == 2 ? null : (due.Path, due.Polls + 1);
        return (now, due.Polls == 2 ? due.Path : null);
    }
}

async Task ServeAsync(Client client)
{
    using var stop = new CancellationTokenSource();
    Task? events = null;
    var header = new byte[4];
    try
    {
        while (await client.Stream.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false) == 4)
        {
            var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
            await client.Stream.ReadExactlyAsync(data);
            var request = ViciCodec.DecodePacket(data);
            if (request.Type is ViciPacketType.EventRegister or ViciPacketType.EventUnregister)
            {
                lock (client.Events)
                {
                    _ = request.Type == ViciPacketType.EventRegister ? client.Events.Add(request.Name!) : client.Events.Remove(request.Name!);
                }

                if (request.Name is ViciSaMapper.ChildRekey or ViciSaMapper.IkeRekey && (childRekey > 0 || ikeRekey > 0) && !noEvents)
                {
                    events ??= SendRekeyEventsAsync(client, stop.Token);
                }

                await client.WriteAsync(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.EventConfirm, null, null)));
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
                    await StreamAsync(client, "list-conn", Connection);
                    break;
                case "list-sas":
                    var (now, due) = PollTime();
                    if (due is not null)
                    {
                        WriteReport(due, now);
                    }

                    await StreamAsync(client, "list-sa", i => Ike(i, IkeGeneration(i, now), now, "ESTABLISHED", ChildSas(i, now)));
                    break;
            }

            await client.WriteAsync(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.CmdResponse, null, answer)));
        }
    }
    catch (IOException)
    {
    }
    finally
    {
        await stop.CancelAsync();
        if (events is not null)
        {
            await events;
        }

        await client.DisposeAsync();
    }
}

// One event per IKE SA / connection, written in batches as charon's buffered socket writes land.
async Task StreamAsync(Client client, string eventName, Func<int, ViciSection> section)
{
    var batch = new MemoryStream();
    for (var i = 0; i < tunnels; i++)
    {
        batch.Write(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, eventName, new ViciSection().AddSection($"c{i}", section(i)))));
        if (batch.Length > 64 * 1024)
        {
            await client.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length));
            batch.SetLength(0);
        }
    }

    await client.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length));
}

// The child-rekey and ike-rekey events of the rekeys since the last look, every 200 ms, as the client registered.
async Task SendRekeyEventsAsync(Client client, CancellationToken stop)
{
    using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
    var last = Now();
    try
    {
        while (await timer.WaitForNextTickAsync(stop))
        {
            var now = Now();
            bool children, ikes;
            lock (client.Events)
            {
                (children, ikes) = (client.Events.Contains(ViciSaMapper.ChildRekey), client.Events.Contains(ViciSaMapper.IkeRekey));
            }

            var batch = new MemoryStream();
            for (var j = 0; children && j < childCount; j++)
            {
                if (ChildGeneration(j, now) is var g && g > ChildGeneration(j, last))
                {
                    var at = ChildInstalled(j, g);
                    var pair = new ViciSection().AddSection("old", Child(j, g - 1, at, "REKEYED")).AddSection("new", Child(j, g, at, "INSTALLED"));
                    var ike = Ike(j / 2, IkeGeneration(j / 2, at), at, "ESTABLISHED", new ViciSection().AddSection(ChildName(j), pair));
                    batch.Write(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, ViciSaMapper.ChildRekey, new ViciSection().AddSection($"c{j / 2}", ike))));
                }
            }

            for (var i = 0; ikes && i < tunnels; i++)
            {
                if (IkeGeneration(i, now) is var h && h > IkeGeneration(i, last))
                {
                    var at = IkeEstablished(i, h);
                    var pair = new ViciSection().AddSection("old", Ike(i, h - 1, at, "REKEYING", null)).AddSection("new", Ike(i, h, at, "ESTABLISHED", null));
                    batch.Write(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, ViciSaMapper.IkeRekey, new ViciSection().AddSection($"c{i}", pair))));
                }
            }

            last = now;
            if (batch.Length > 0)
            {
                await client.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length));
            }
        }
    }
    catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
    {
    }
}

// CHILD SA j (0 .. 2 * tunnels - 1) belongs to IKE SA j / 2, the IPv4 pair for even j; generation g is its g-th rekey.
long ChildGeneration(int j, double t) => childRekey > 0 ? (long)Math.Floor((t + ChildPhase(j)) / childRekey) : 0;

double ChildInstalled(int j, long g) => childRekey > 0 ? (g * childRekey) - ChildPhase(j) : 0;

double ChildPhase(int j) => childRekey * j / childCount;

string ChildName(int j) => j % 2 == 0 ? "net" : "net6";

bool IkeChurns(int i) => ikeRekey > 0 && i % IkeChurnEvery == 0;

long IkeGeneration(int i, double t) => IkeChurns(i) ? (long)Math.Floor((t + (ikeRekey * i / tunnels)) / ikeRekey) : 0;

double IkeEstablished(int i, long h) => IkeChurns(i) ? (h * ikeRekey) - (ikeRekey * i / tunnels) : 0;

// The rekey that installs generation g of CHILD SA j (g >= 1): how the SA it retires is listed by the next poll.
Retired Shape(int j, long g) => (Retired)((j + g) % 3);

// The installed CHILD SAs of IKE SA i as a poll at time t lists them, and the one each retired since the last poll
// when that poll listed it installed and its rekey's shape leaves it listed.
ViciSection ChildSas(int i, double t)
{
    var children = new ViciSection();
    foreach (var j in new[] { 2 * i, (2 * i) + 1 })
    {
        var g = ChildGeneration(j, t);
        if (Polled(j, g, t) is { } state)
        {
            var old = Child(j, g - 1, t, state);
            children.AddSection($"{ChildName(j)}-{old.Value("uniqueid")}", old);
        }

        var installed = Child(j, g, t, "INSTALLED");
        children.AddSection($"{ChildName(j)}-{installed.Value("uniqueid")}", installed);
    }

    return children;
}

// Notes that a poll at time t sees generation g of CHILD SA j, adds what no poll could show of the generations retired
// since the last one, and returns the state the one just retired is listed in, or null when it is not listed.
string? Polled(int j, long g, double t)
{
    lock (polling)
    {
        var (last, packets) = polled[j];
        if (g <= last)
        {
            // The same SA (or, from a list-sas that overlapped a later one, an older one): nothing retired.
            polled[j] = (last, Math.Max(packets, Packets(j, last, t)));
            return null;
        }

        polled[j] = (g, Packets(j, g, t));

        var lingering = g == last + 1 && Shape(j, g) != Retired.Replaced;
        if (lingering)
        {
            lingeringListed[(int)Shape(j, g)]++;
            return Shape(j, g) == Retired.Deleted ? "DELETED" : "REKEYED";
        }

        // The last seconds of the SA the last poll listed, and every SA no poll listed at all.
        unseenPackets[j] += Packets(j, last, t) - packets;
        for (var h = last + 1; h < g; h++)
        {
            unseenPackets[j] += Packets(j, h, t);
            skipped[j]++;
        }

        return null;
    }
}

// What the server made since it started, as of time t (the freeze): see the header.
void WriteReport(string path, double t)
{
    var made = new long[3];
    ulong retiredTotal = 0, currentTotal = 0, unseenTotal = 0;
    using (var file = new StreamWriter(path + ".tmp"))
    {
        file.WriteLine("tunnel\tlocal_ts\tremote_ts\trekeys_deleted\trekeys_rekeyed\trekeys_replaced\tretired_bytes\tcurrent_bytes\tunseen_bytes\tskipped");
        lock (polling)
        {
            for (var j = 0; j < childCount; j++)
            {
                var g = ChildGeneration(j, t);
                var shapes = new long[3];
                ulong retired = 0;
                for (var h = 0; h < g; h++)
                {
                    shapes[(int)Shape(j, h + 1)]++;
                    retired += Packets(j, h, t);
                }

                var (i, current) = (j / 2, Packets(j, g, t));
                var (local, remote) = j % 2 == 0 ? (V4Local(i), V4Remote(i)) : (V6Local(i), V6Remote(i));
                file.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"t{i}\t{local}\t{remote}\t{shapes[0]}\t{shapes[1]}\t{shapes[2]}\t{retired * PacketBytes}\t{current * PacketBytes}\t{unseenPackets[j] * PacketBytes}\t{skipped[j]}"));
                for (var k = 0; k < 3; k++)
                {
                    made[k] += shapes[k];
                }

                (retiredTotal, currentTotal, unseenTotal) = (retiredTotal + retired, currentTotal + current, unseenTotal + unseenPackets[j]);
            }

            file.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# at {t:F1} s: rekeys made deleted={made[0]} rekeyed={made[1]} replaced={made[2]}; lingering SAs listed deleted={lingeringListed[0]} rekeyed={lingeringListed[1]}; bytes per direction retired={retiredTotal * PacketBytes} current={currentTotal * PacketBytes} unseen={unseenTotal * PacketBytes}; skipped={skipped.Sum()}"));
        }
    }

    File.Move(path + ".tmp", path, overwrite: true);
}

ViciSection Ike(int i, long h, double t, string state, ViciSection? children)
{
    var established = IkeEstablished(i, h);
    return Copy(templateIke, (key, value) => key switch
    {
        "uniqueid" => ((h * tunnels) + i + 1).ToString(CultureInfo.InvariantCulture),
        "initiator-spi" => $"{i:x8}a1{h:x6}",
        "responder-spi" => $"{i:x8}e5{h:x6}",
        "state" => state,
        "established" => Seconds(t - established),
        "rekey-time" => Seconds(established + (IkeChurns(i) ? ikeRekey : Recorded(value)) - t),
        _ => value,
    }, children);
}

// Generation g of CHILD SA j as listed at time t.
ViciSection Child(int j, long g, double t, string state)
{
    var uniqueId = (g * childCount) + j + 1;
    var installed = ChildInstalled(j, g);
    var packets = Packets(j, g, t);
    var i = j / 2;
    return Copy(templateChild, (key, value) => key switch
    {
        "name" => ChildName(j),
        "uniqueid" => uniqueId.ToString(CultureInfo.InvariantCulture),
        "reqid" => (j + 1).ToString(CultureInfo.InvariantCulture),
        "state" => state,
        "spi-in" => $"c{uniqueId:x7}",
        "spi-out" => $"d{uniqueId:x7}",
        "bytes-in" or "bytes-out" => (packets * PacketBytes).ToString(CultureInfo.InvariantCulture),
        "packets-in" or "packets-out" => packets.ToString(CultureInfo.InvariantCulture),
        "install-time" => Seconds(t - installed),
        "rekey-time" => Seconds(installed + (childRekey > 0 ? childRekey : Recorded(value)) - t),
        "life-time" => Seconds(installed + (childRekey > 0 ? 1.1 * childRekey : Recorded(value)) - t),
        _ => value,
    }, null, j % 2 == 0 ? V4Local(i) : V6Local(i), j % 2 == 0 ? V4Remote(i) : V6Remote(i));
}

// What generation g of CHILD SA j counted by time t in each direction: its counters stop growing when it is replaced.
ulong Packets(int j, long g, double t)
{
    var until = childRekey > 0 ? Math.Min(t, ChildInstalled(j, g + 1)) : t;
    return (ulong)Math.Floor(PacketsPerSecond * Math.Max(0, until - ChildInstalled(j, g)));
}

ViciSection Connection(int i) =>
    new ViciSection()
        .AddList("local_addrs", ["198.51.100.1"]).AddList("remote_addrs", ["%any"]).Add("version", "IKEv2").Add("reauth_time", "0")
        .Add("rekey_time", IkeChurns(i) ? Seconds(ikeRekey) : "14400")
        .AddSection("children", new ViciSection()
            .AddSection("net", new ViciSection().Add("mode", "TUNNEL").Add("rekey_time", childRekey > 0 ? Seconds(childRekey) : "3600").AddList("local-ts", [V4Local(i)]).AddList("remote-ts", [V4Remote(i)]))
            .AddSection("net6", new ViciSection().Add("mode", "TUNNEL").Add("rekey_time", childRekey > 0 ? Seconds(childRekey) : "3600").AddList("local-ts", [V6Local(i)]).AddList("remote-ts", [V6Remote(i)])));

string V4Local(int i) => inside > 0 ? "127.0.0.0/24" : $"10.{i / 256 % 256}.{i % 256}.0/24";

string V4Remote(int i) => inside > 0 ? $"127.{2 + (i / 256)}.{i % 256}.0/24" : $"172.{16 + (i / 65536)}.{i / 256 % 256}.{i % 256}/32";

// Whole seconds as charon reports them, never negative.
// Without churn, the recorded times left until rekey and expiry count down from the start, as charon's do (each
// CHILD SA's lifetime, their sum with its age, then stays the same from one list-sas to the next).
static double Recorded(string seconds) => double.Parse(seconds, CultureInfo.InvariantCulture);

static string Seconds(double seconds) => ((long)Math.Max(0, Math.Floor(seconds))).ToString(CultureInfo.InvariantCulture);

// A copy of a recorded section with some values replaced, its child-sas replaced (left out when null), and its
// selectors replaced.
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
        if (key != "child-sas")
        {
            copy.AddSection(key, section);
        }
        else if (children is not null)
        {
            copy.AddSection(key, children);
        }
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

static string V6Local(int i) => $"fd00:{i:x}:1::/64";

static string V6Remote(int i) => $"fd00:{i:x}:2::/64";

// How a poll sees the SA a CHILD SA rekey retired.
internal enum Retired
{
    Deleted,
    Rekeyed,
    Replaced,
}

// One connection of a client: the event sender and the command loop write to it in turn.
internal sealed class Client(NetworkStream stream) : IAsyncDisposable
{
    private readonly SemaphoreSlim _writing = new(1, 1);

    public NetworkStream Stream { get; } = stream;

    public HashSet<string> Events { get; } = new(StringComparer.Ordinal);

    public async Task WriteAsync(ReadOnlyMemory<byte> frames)
    {
        await _writing.WaitAsync();
        try
        {
            await Stream.WriteAsync(frames);
        }
        finally
        {
            _writing.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        _writing.Dispose();
    }
}

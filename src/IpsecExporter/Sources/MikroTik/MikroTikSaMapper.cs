using System.Globalization;
using System.Net;
using System.Text.Json;

namespace IpsecExporter.Sources.MikroTik;

/// <summary>An entry of <c>/ip/ipsec/active-peers</c>: an IKE SA.</summary>
public sealed record MikroTikPeer(string Id, IPAddress? Local, IPAddress? Remote, string State, TimeSpan? Uptime, string? InitiatorSpi, string? ResponderSpi);

/// <summary>An entry of <c>/ip/ipsec/policy</c>: what traffic is protected, towards which peer and SA endpoints.</summary>
public sealed record MikroTikPolicy(string Id, string? Peer, string? Source, string? Destination, IPAddress? SaSource, IPAddress? SaDestination, bool Usable, string? Phase2State);

/// <summary>An entry of <c>/ip/ipsec/installed-sa</c>: one SA, one direction.</summary>
public sealed record MikroTikSa(string Id, uint Spi, IPAddress Source, IPAddress Destination, string State, ulong? Bytes, ulong? Packets, TimeSpan? ExpiresIn);

/// <summary>
/// Reads RouterOS 7 REST answers and maps them onto the source-neutral model. Shapes: every value a JSON string, lists
/// as arrays of objects with <c>.id</c>, errors as <c>{"error":401,"message":"Unauthorized"}</c> (RouterOS manual,
/// "REST API", help.mikrotik.com/docs/spaces/ROS/pages/47579162); the properties of <c>installed-sa</c> (<c>spi</c>,
/// <c>state</c> larval|mature|dying|dead, <c>src-address</c>, <c>dst-address</c>, <c>current-bytes</c>,
/// <c>current-packets</c>, <c>expires-in</c>, and <c>enc-key</c>/<c>auth-key</c>, never asked for),
/// <c>active-peers</c> (<c>local-address</c>, <c>remote-address</c>, <c>state</c>, <c>uptime</c>, <c>spii</c>/<c>spir</c>)
/// and <c>policy</c> (<c>peer</c>, <c>src-address</c>, <c>dst-address</c>, <c>sa-src-address</c>, <c>sa-dst-address</c>,
/// <c>ph2-state</c>) from the RouterOS 7 IPsec manual (help.mikrotik.com/docs/spaces/ROS/pages/11993097) and the
/// generated RouterOS 7 command reference; <c>active-peers</c> as mktxp reads it (akpw/mktxp, ipsec_collector.py).
/// </summary>
public static class MikroTikSaMapper
{
    public static List<MikroTikPeer> ParsePeers(string body, string what) => Rows(body, what).Select(row =>
        new MikroTikPeer(Required(row, ".id"), Address(row, "local-address"), Address(row, "remote-address"), Required(row, "state"), Duration(row, "uptime"), Text(row, "spii"), Text(row, "spir"))).ToList();

    public static List<MikroTikPolicy> ParsePolicies(string body, string what) => Rows(body, what).Select(row =>
        new MikroTikPolicy(
            Required(row, ".id"),
            Text(row, "peer"),
            Text(row, "src-address"),
            Text(row, "dst-address"),
            Address(row, "sa-src-address"),
            Address(row, "sa-dst-address"),
            // Templates only generate policies; disabled and invalid ones carry nothing.
            !Flag(row, "template") && !Flag(row, "disabled") && !Flag(row, "invalid") && Text(row, "action") is null or "encrypt",
            Text(row, "ph2-state"))).ToList();

    public static List<MikroTikSa> ParseSas(string body, string what) => Rows(body, what).Select(row =>
        new MikroTikSa(
            Required(row, ".id"),
            Spi(row),
            Address(row, "src-address") ?? throw Invalid(row, "src-address"),
            Address(row, "dst-address") ?? throw Invalid(row, "dst-address"),
            Required(row, "state"),
            Number(row, "current-bytes"),
            Number(row, "current-packets"),
            Duration(row, "expires-in"))).ToList();

    /// <summary>
    /// The snapshot: one IKE SA per active peer, named by the <c>peer</c> of the policies between its addresses. Each
    /// installed SA counts one direction: outbound from the policy's <c>sa-src-address</c> to its <c>sa-dst-address</c>,
    /// inbound the other way; the two directions are joined into a CHILD SA in order of state (mature first) and
    /// remaining lifetime. RouterOS does not tell which SA serves which of several policies on the same endpoints, so
    /// such policies are reported by their phase-2 state alone, without counters.
    /// </summary>
    public static SaSnapshot Map(DateTimeOffset collectedAt, IReadOnlyList<MikroTikPeer> peers, IReadOnlyList<MikroTikPolicy> policies, IReadOnlyList<MikroTikSa> sas, SaCounterLedger ledger)
    {
        var usable = policies.Where(p => p is { Usable: true, Peer: not null, SaSource: not null, SaDestination: not null }).ToList();
        var ikes = new List<IkeSa>();
        foreach (var peer in peers.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            var own = usable.Where(p => p.SaSource!.Equals(peer.Local) && p.SaDestination!.Equals(peer.Remote)).OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
            var connection = own.FirstOrDefault()?.Peer ?? peer.Remote?.ToString() ?? peer.Id;
            var children = peer.Local is null || peer.Remote is null ? [] : Children(own, peer.Local, peer.Remote, sas, ledger);
            ikes.Add(new IkeSa(
                connection,
                peer.InitiatorSpi is not null && peer.ResponderSpi is not null ? $"{peer.InitiatorSpi}_{peer.ResponderSpi}" : $"peer {peer.Id}",
                IkeState(peer.State),
                peer.State,
                peer.Local,
                peer.Remote,
                peer.State == "established" ? peer.Uptime : null,
                null,
                null,
                children));
        }

        ledger.EndCollection();
        var connections = usable.GroupBy(p => p.Peer!).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ConnectionInfo(g.Key, null, null, g.Select(p => new ChildConfigInfo(PolicyName(p), null, Selectors(p.Source), Selectors(p.Destination))).ToList()))
            .ToList();
        return new SaSnapshot(collectedAt, ikes) { Counters = CounterCapabilities.All, Connections = connections, DhGroupsReported = false };
    }

    private static List<ChildSa> Children(List<MikroTikPolicy> policies, IPAddress local, IPAddress remote, IReadOnlyList<MikroTikSa> sas, SaCounterLedger ledger)
    {
        if (policies.Count != 1)
        {
            return policies.Select(p => new ChildSa(PolicyName(p), $"policy {p.Id}", PolicyState(p.Phase2State), p.Phase2State ?? "unknown", Selectors(p.Source), Selectors(p.Destination), default)).ToList();
        }

        var policy = policies[0];
        var outbound = Newest(sas.Where(s => s.Source.Equals(local) && s.Destination.Equals(remote)));
        var inbound = Newest(sas.Where(s => s.Source.Equals(remote) && s.Destination.Equals(local)));
        var children = new List<ChildSa>();
        for (var i = 0; i < Math.Max(outbound.Count, inbound.Count); i++)
        {
            var sent = i < outbound.Count ? outbound[i] : null;
            var received = i < inbound.Count ? inbound[i] : null;
            var pair = $"{received?.Spi.ToString("x8", CultureInfo.InvariantCulture) ?? "-"}_{sent?.Spi.ToString("x8", CultureInfo.InvariantCulture) ?? "-"}";
            var (key, counters) = ledger.Observe(pair, pair, new SaCounters(received?.Bytes, sent?.Bytes, received?.Packets, sent?.Packets));
            var states = new[] { received?.State, sent?.State }.OfType<string>().Distinct().ToList();
            children.Add(new ChildSa(PolicyName(policy), key, ChildState(states), string.Join("/", states), Selectors(policy.Source), Selectors(policy.Destination), counters)
            {
                LifeIn = received?.ExpiresIn ?? sent?.ExpiresIn,
            });
        }

        return children;
    }

    /// <summary>Mature SAs first, then the one with the most lifetime left (the newest): both directions sort alike.</summary>
    private static List<MikroTikSa> Newest(IEnumerable<MikroTikSa> sas) =>
        sas.OrderBy(s => s.State == "mature" ? 0 : 1).ThenByDescending(s => s.ExpiresIn ?? TimeSpan.Zero).ThenBy(s => s.Spi).ToList();

    private static string PolicyName(MikroTikPolicy policy) => $"{policy.Source} <=> {policy.Destination}";

    private static List<string> Selectors(string? address) => address is null ? [] : [address];

    private static IkeSaState IkeState(string state) => state switch
    {
        "established" => IkeSaState.Established,
        "expired" or "no-phase1" => IkeSaState.Deleting,
        "spawning" or "starting" or "eap" or "crypto" or "qkd" => IkeSaState.Connecting,
        _ when state.StartsWith("message-", StringComparison.Ordinal) => IkeSaState.Connecting,
        _ => IkeSaState.Unknown,
    };

    private static ChildSaState ChildState(List<string> states) =>
        states.Contains("dead") ? ChildSaState.Deleted
        : states.Contains("dying") ? ChildSaState.Rekeyed
        : states.Contains("larval") ? ChildSaState.Installing
        : states.Count > 0 && states.TrueForAll(s => s == "mature") ? ChildSaState.Installed
        : ChildSaState.Unknown;

    private static ChildSaState PolicyState(string? state) => state switch
    {
        "established" => ChildSaState.Installed,
        "expired" or "no-phase2" => ChildSaState.Deleted,
        null => ChildSaState.Unknown,
        _ => ChildSaState.Installing,
    };

    private static List<JsonElement> Rows(string body, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object)
                ? document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList()
                : throw new IOException($"the answer from {what} is not a RouterOS list{Refusal(document.RootElement)}");
        }
        catch (JsonException e)
        {
            // The body is never quoted: an HTML page or a half answer is not ours to log.
            throw new IOException($"the answer from {what} is not RouterOS JSON ({e.GetType().Name} at line {e.LineNumber + 1}, byte {e.BytePositionInLine})", e);
        }
    }

    /// <summary>The error RouterOS put in an object answer, as <c>: 400 Bad Request</c>.</summary>
    private static string Refusal(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var code) && root.TryGetProperty("message", out var message)
            ? $": {code} {message.GetString()}"
            : "";

    /// <summary>A property's value: RouterOS sends every value as a string, but a number is taken as well.</summary>
    private static string? Text(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString() is { Length: > 0 } text ? text.Trim() : null,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => null,
        } : null;

    private static string Required(JsonElement row, string name) => Text(row, name) ?? throw new IOException($"RouterOS entry without '{name}'");

    private static bool Flag(JsonElement row, string name) => Text(row, name) is "true" or "yes";

    private static IPAddress? Address(JsonElement row, string name) => Text(row, name) is { } text && IPAddress.TryParse(text, out var address) ? address : null;

    private static ulong? Number(JsonElement row, string name) => Text(row, name) switch
    {
        null => null,
        var text when ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw Invalid(row, name),
    };

    /// <summary>An SPI as RouterOS prints it: <c>0x</c>-prefixed hex, or decimal.</summary>
    private static uint Spi(JsonElement row)
    {
        var text = Required(row, "spi");
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) ? hex : throw Invalid(row, "spi")
            : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw Invalid(row, "spi");
    }

    /// <summary>A RouterOS duration such as <c>2d20h12m20s</c>, <c>1w3d</c> or <c>500ms</c>; null when absent or not one.</summary>
    public static TimeSpan? Duration(JsonElement row, string name) => Text(row, name) is { } text ? ParseDuration(text) : null;

    public static TimeSpan? ParseDuration(string text)
    {
        var total = TimeSpan.Zero;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            // Up to 1,000,000 of a unit: a router's uptime, never an overflow.
            if (i == start || !int.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > 1_000_000)
            {
                return null;
            }

            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            TimeSpan? part = text[unitStart..i] switch
            {
                "w" => TimeSpan.FromDays(7 * amount),
                "d" => TimeSpan.FromDays(amount),
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                "us" => TimeSpan.FromMicroseconds(amount),
                _ => null,
            };
            if (part is null)
            {
                return null;
            }

            total += part.Value;
        }

        return text.Length == 0 ? null : total;
    }

    private static IOException Invalid(JsonElement row, string name) => new($"RouterOS '{name}' '{Text(row, name)}' is not valid");
}

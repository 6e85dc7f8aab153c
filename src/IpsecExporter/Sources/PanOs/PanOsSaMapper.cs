using System.Globalization;
using System.Net;
using System.Xml;
using System.Xml.Linq;

namespace IpsecExporter.Sources.PanOs;

/// <summary>One row of <c>show vpn ipsec-sa</c>: the SA pair installed for a tunnel (a tunnel is one proxy-id).</summary>
public sealed record PanOsIpsecSa(int TunnelId, string Name, string Gateway, IPAddress? Remote, uint InboundSpi, uint OutboundSpi, string? DhGroup, TimeSpan? Life, TimeSpan? Remain);

/// <summary>One tunnel of <c>show vpn flow</c> (every configured tunnel, with or without an SA).</summary>
public sealed record PanOsFlow(int TunnelId, string Name, string State, IPAddress? LocalIp);

/// <summary>The counters and selectors of one tunnel, from <c>show vpn flow tunnel-id N</c>.</summary>
public sealed record PanOsFlowDetail(int TunnelId, string State, SaCounters Counters, IReadOnlyList<string> LocalTs, IReadOnlyList<string> RemoteTs);

/// <summary>
/// Reads PAN-OS XML API answers and maps them onto the source-neutral model. Shapes (fixtures under
/// tests/.../Fixtures/panos cite their origins): the <c>&lt;response status="success"&gt;&lt;result&gt;</c> envelope and
/// <c>status="error"</c> with <c>&lt;msg&gt;&lt;line&gt;</c> or <c>&lt;result&gt;&lt;msg&gt;</c> (PAN-OS XML API guide, "API error
/// codes"; pan-os-python); <c>show vpn ipsec-sa</c> with <c>entries/entry</c> of <c>gwid</c>, <c>gateway</c>, <c>tid</c>,
/// <c>remote</c> (space-padded), <c>name</c> (<c>tunnel:proxy-id</c>), <c>i_spi</c>/<c>o_spi</c> in signed or unsigned
/// decimal, <c>dh</c>, <c>life</c>, <c>remain</c>; <c>show vpn flow</c> with <c>IPSec/entry</c> of <c>name</c>, <c>id</c>,
/// <c>localip</c>, <c>state</c>; and <c>show vpn flow tunnel-id N</c> adding <c>byte-encap</c>/<c>byte-decap</c>,
/// <c>pkt-encap</c>/<c>pkt-decap</c> and <c>ts/local|remote/sip,eip</c> (PA-VM 11.2 captures in
/// bforejt/nautobot-discover-devices tests/fixtures/panos_vpn_*.xml; PAN-OS 8 captures in
/// gregfoletta/Device-Firewall-PaloAlto t/).
/// </summary>
public static class PanOsSaMapper
{
    private static readonly XmlReaderSettings Safe = new() { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };

    /// <summary>The <c>&lt;result&gt;</c> of a successful answer.</summary>
    /// <exception cref="IOException">Not a PAN-OS XML API answer, or <c>status="error"</c>.</exception>
    public static XElement Result(string body, string command)
    {
        XDocument document;
        try
        {
            using var reader = XmlReader.Create(new StringReader(body), Safe);
            document = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            // The body itself is never quoted: an HTML login page or a proxy's error page is not ours to log.
            throw new IOException($"the answer to '{command}' is not PAN-OS XML ({e.GetType().Name} at line {e.LineNumber}, position {e.LinePosition})", e);
        }

        var response = document.Root is { Name.LocalName: "response" } root ? root : throw new IOException($"the answer to '{command}' is not a PAN-OS XML API <response>");
        var status = (string?)response.Attribute("status");
        if (status != "success")
        {
            var code = (string?)response.Attribute("code");
            var message = response.Element("msg") is { } msg ? Text(msg) : Text(response.Element("result")?.Element("msg"));
            throw new IOException($"PAN-OS refused '{command}': status=\"{status}\"{(code is null ? "" : $" code {code}")}{(message is null ? "" : $": {message}")}");
        }

        return response.Element("result") ?? throw new IOException($"the answer to '{command}' has no <result>");
    }

    public static List<PanOsIpsecSa> ParseIpsecSas(XElement result) =>
        result.Element("entries")?.Elements("entry").Select(entry =>
        {
            var name = Required(entry, "name");
            return new PanOsIpsecSa(
                Int(entry, "tid"),
                name,
                Text(entry.Element("gateway")) ?? $"gwid {Int(entry, "gwid")}",
                Address(entry, "remote"),
                Spi(entry, "i_spi"),
                Spi(entry, "o_spi"),
                Text(entry.Element("dh")),
                Seconds(entry, "life"),
                Seconds(entry, "remain"));
        }).ToList() ?? [];

    public static List<PanOsFlow> ParseFlows(XElement result) =>
        result.Element("IPSec")?.Elements("entry").Select(entry =>
            new PanOsFlow(Int(entry, "id"), Required(entry, "name"), Required(entry, "state"), Address(entry, "localip"))).ToList() ?? [];

    /// <summary>The one tunnel of a <c>show vpn flow tunnel-id N</c> answer; null when the firewall has no such tunnel any more.</summary>
    public static PanOsFlowDetail? ParseFlowDetail(XElement result)
    {
        if (result.Element("IPSec")?.Element("entry") is not { } entry)
        {
            return null;
        }

        var selectors = entry.Element("ts");
        return new PanOsFlowDetail(
            Int(entry, "id"),
            Required(entry, "state"),
            // Encapsulated is what left through the tunnel, decapsulated what arrived.
            new SaCounters(Counter(entry, "byte-decap"), Counter(entry, "byte-encap"), Counter(entry, "pkt-decap"), Counter(entry, "pkt-encap")),
            Selector(selectors?.Element("local")),
            Selector(selectors?.Element("remote")));
    }

    /// <summary>
    /// The tunnel's <c>connection</c>: a PAN-OS SA is named <c>tunnel:proxy-id</c> (or just <c>tunnel</c> without proxy
    /// ids); the IPsec tunnel is what a network team names, its proxy ids are the network pairs.
    /// </summary>
    public static string ConnectionOf(string name)
    {
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? name[..colon] : name;
    }

    /// <summary>
    /// The snapshot: one IKE SA per IPsec tunnel and gateway with one CHILD SA per SA row. The ipsec-sa answer only lists
    /// tunnels whose phase 2 is up, so their phase 1 is up too; the flow's state tells whether the SA is active.
    /// Per-SA keys and counters come from <paramref name="ledger"/>: PAN-OS counts per tunnel id across rekeys.
    /// </summary>
    public static SaSnapshot Map(
        DateTimeOffset collectedAt,
        IReadOnlyList<PanOsIpsecSa> sas,
        IReadOnlyList<PanOsFlow> flows,
        IReadOnlyDictionary<int, PanOsFlowDetail> details,
        SaCounterLedger ledger)
    {
        var flowById = flows.ToDictionary(f => f.TunnelId);
        var ikes = new List<IkeSa>();
        foreach (var group in sas.GroupBy(sa => (Connection: ConnectionOf(sa.Name), sa.Gateway)).OrderBy(g => g.Key.Connection, StringComparer.Ordinal).ThenBy(g => g.Key.Gateway, StringComparer.Ordinal))
        {
            var children = new List<ChildSa>();
            IPAddress? local = null;
            foreach (var sa in group.OrderBy(s => s.TunnelId))
            {
                var detail = details.GetValueOrDefault(sa.TunnelId);
                var flow = flowById.GetValueOrDefault(sa.TunnelId);
                local ??= flow?.LocalIp;
                var stateText = detail?.State ?? flow?.State ?? "unknown";
                var (key, counters) = ledger.Observe($"tid {sa.TunnelId}", $"{sa.InboundSpi:x8}_{sa.OutboundSpi:x8}", detail?.Counters ?? default);
                children.Add(new ChildSa(sa.Name, key, ChildState(stateText), stateText, detail?.LocalTs ?? [], detail?.RemoteTs ?? [], counters)
                {
                    InstalledAgo = sa.Life - sa.Remain,
                    LifeIn = sa.Remain,
                    DhGroup = Pfs(sa.DhGroup) ? sa.DhGroup : null,
                    PfsSetting = sa.DhGroup is null ? null : Pfs(sa.DhGroup),
                });
            }

            var established = children.Exists(c => c.IsInstalled);
            ikes.Add(new IkeSa(
                group.Key.Connection,
                $"{group.Key.Connection}|{group.Key.Gateway}",
                established ? IkeSaState.Established : IkeSaState.Connecting,
                established ? "active" : "init",
                local,
                group.First().Remote,
                null,
                null,
                null,
                children));
        }

        ledger.EndCollection();
        var connections = flows.GroupBy(f => ConnectionOf(f.Name)).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ConnectionInfo(g.Key, null, null, g.Select(f => new ChildConfigInfo(f.Name, null, [], [])).ToList()))
            .ToList();
        return new SaSnapshot(collectedAt, ikes) { Counters = CounterCapabilities.All | CounterCapabilities.PerTunnel, Connections = connections };
    }

    private static ChildSaState ChildState(string state) => state switch
    {
        "active" => ChildSaState.Installed,
        "init" => ChildSaState.Installing,
        "inactive" => ChildSaState.Deleted,
        _ => ChildSaState.Unknown,
    };

    /// <summary>The crypto profile's PFS group as PAN-OS prints it (<c>DH14</c>); no PFS prints as empty or <c>none</c>.</summary>
    private static bool Pfs(string? dh) => dh is not null && !dh.Equals("none", StringComparison.OrdinalIgnoreCase) && !dh.Equals("no-pfs", StringComparison.OrdinalIgnoreCase);

    private static List<string> Selector(XElement? side)
    {
        var first = Text(side?.Element("sip"));
        var last = Text(side?.Element("eip"));
        return first is null || last is null ? [] : [first == last ? first : $"{first}..{last}"];
    }

    /// <summary>Element text without the padding PAN-OS adds to some fields (<c>remote</c> is right-padded with spaces).</summary>
    private static string? Text(XElement? element) => element?.Value.Trim() is { Length: > 0 } text ? text : null;

    private static string Required(XElement entry, string name) =>
        Text(entry.Element(name)) ?? throw new IOException($"PAN-OS {entry.Parent?.Name.LocalName} entry without <{name}>");

    private static int Int(XElement entry, string name) =>
        int.TryParse(Required(entry, name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw Invalid(entry, name);

    private static ulong? Counter(XElement entry, string name) => Text(entry.Element(name)) switch
    {
        null => null,
        var text when ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw Invalid(entry, name),
    };

    private static TimeSpan? Seconds(XElement entry, string name) =>
        Text(entry.Element(name)) is { } text && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? SaValueGuard.Seconds(seconds) : null;

    private static IPAddress? Address(XElement entry, string name) =>
        Text(entry.Element(name)) is { } text && IPAddress.TryParse(text, out var address) ? address : null;

    /// <summary>An SPI as PAN-OS prints it in ipsec-sa: a 32-bit value in decimal, signed on some releases.</summary>
    private static uint Spi(XElement entry, string name)
    {
        var text = Required(entry, name);
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= int.MinValue && value <= uint.MaxValue
            ? unchecked((uint)value)
            : throw Invalid(entry, name);
    }

    private static IOException Invalid(XElement entry, string name) => new($"PAN-OS <{name}> '{Text(entry.Element(name))}' is not a valid number");
}

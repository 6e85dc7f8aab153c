using System.Net;
using System.Text.Json;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Sources.OpnSense;

/// <summary>A phase-1 session: a connection charon has loaded or holds an IKE SA for.</summary>
/// <param name="Name">charon's connection name (<c>con1</c> for a legacy tunnel, a UUID for a Connections entry).</param>
/// <param name="Connected">An IKE SA exists (OPNsense does not say in which state).</param>
/// <param name="Loaded">The connection is configured (listed by charon's <c>list-conns</c>), not only an SA.</param>
public sealed record OpnSensePhase1(string Name, bool Connected, bool Loaded, IPAddress? Local, IPAddress? Remote);

/// <summary>A phase-2 session: one CHILD SA, with the remote address of the IKE SA it belongs to.</summary>
public sealed record OpnSensePhase2(IPAddress? RemoteHost, ChildSa Child);

/// <summary>
/// Reads OPNsense's IPsec API answers and maps them onto the source-neutral model. Shapes, from opnsense/core:
/// <c>service/status</c> answers <c>{"status":"running"|"stopped"|"disabled"|"unknown",...}</c>
/// (ApiMutableServiceControllerBase::statusAction); the <c>search_*</c> actions answer
/// <c>{"total":N,"rowCount":N,"current":1,"rows":[...]}</c> (ApiControllerBase::searchRecordsetBase). A phase-1 row is
/// one entry of <c>scripts/ipsec/list_status.py</c> (charon's <c>list-conns</c> merged with <c>list-sas</c>) without its
/// SAs: <c>name</c>, <c>connected</c>, <c>routed</c>, <c>local-addrs</c>, <c>remote-addrs</c>, <c>phase1desc</c> and
/// counters summed over its CHILD SAs; a phase-2 row is charon's CHILD SA as VICI lists it (<c>uniqueid</c>,
/// <c>state</c>, <c>spi-in</c>/<c>spi-out</c>, <c>bytes-in</c>/<c>-out</c>, <c>packets-in</c>/<c>-out</c>,
/// <c>install-time</c>, <c>rekey-time</c>, <c>life-time</c>, <c>dh-group</c>) with its lists joined by <c> , </c>, plus
/// the IKE SA's <c>remote-host</c> (IPsec/Api/SessionsController.php). Values come as JSON strings from the script's
/// VICI bytes, or as numbers where PHP computed them: both are read.
/// </summary>
public static class OpnSenseSaMapper
{
    /// <exception cref="IOException">The IPsec service is not running: its tunnels cannot be read, which is not "no tunnels".</exception>
    public static void EnsureRunning(JsonElement answer)
    {
        var status = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("status", out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new InvalidDataException($"OPNsense's {OpnSenseSaSource.StatusPath} answer has no status");
        if (status != "running")
        {
            throw new IOException($"OPNsense reports the IPsec service as '{status}' ({OpnSenseSaSource.StatusPath}): its SAs cannot be read until it runs");
        }
    }

    public static List<OpnSensePhase1> ParsePhase1(JsonElement answer) => Rows(answer, OpnSenseSaSource.Phase1Path).Select(row =>
        new OpnSensePhase1(
            Text(row, "name") ?? throw new InvalidDataException($"OPNsense listed a phase-1 session without a name ({OpnSenseSaSource.Phase1Path})"),
            Flag(row, "connected") ?? false,
            // Older releases do not say; a listed connection is then taken as configured.
            Flag(row, "routed") ?? true,
            Address(Text(row, "local-addrs")),
            Address(Text(row, "remote-addrs")))).ToList();

    /// <exception cref="ViciProtocolException">A row's counters or times are not numbers.</exception>
    public static List<OpnSensePhase2> ParsePhase2(JsonElement answer, string phase1) => Rows(answer, $"{OpnSenseSaSource.Phase2Path} of '{phase1}'").Select(row =>
    {
        var section = ViciJson.ToSection(row, key => key);
        return new OpnSensePhase2(Address(section.Value("remote-host")), ViciSaMapper.MapChildSa(section.Value("name") ?? phase1, section));
    }).ToList();

    /// <summary>
    /// The snapshot: one IKE SA per connected phase 1 and remote host, holding that host's CHILD SAs (phase-2 rows carry
    /// the remote host of their IKE SA; a responder connection may have several). OPNsense lists no IKE SA state, SPIs
    /// or times: a connected phase 1 counts as established, its key is its name and remote host.
    /// </summary>
    public static SaSnapshot Map(DateTimeOffset collectedAt, IReadOnlyList<OpnSensePhase1> phase1s, IReadOnlyDictionary<string, List<OpnSensePhase2>> phase2s)
    {
        var ikes = new List<IkeSa>();
        foreach (var phase1 in phase1s.Where(p => p.Connected).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var rows = phase2s.GetValueOrDefault(phase1.Name) ?? [];
            List<(IPAddress? Remote, List<ChildSa> Children)> byRemote = rows.Count == 0
                ? [(phase1.Remote, [])]
                : rows.GroupBy(r => r.RemoteHost ?? phase1.Remote).Select(g => (g.Key, g.Select(r => r.Child).ToList())).ToList();
            foreach (var ike in byRemote.OrderBy(g => g.Remote?.ToString(), StringComparer.Ordinal))
            {
                ikes.Add(new IkeSa(phase1.Name, $"{phase1.Name}|{ike.Remote}", IkeSaState.Established, "connected", phase1.Local, ike.Remote, null, null, null, ike.Children));
            }
        }

        var connections = phase1s.Where(p => p.Loaded).OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new ConnectionInfo(p.Name, null, null, [])).ToList();
        return new SaSnapshot(collectedAt, ikes) { Counters = CounterCapabilities.All, Connections = connections };
    }

    private static List<JsonElement> Rows(JsonElement answer, string what) =>
        answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("rows", out var rows) && rows.ValueKind == JsonValueKind.Array
            && rows.EnumerateArray().All(r => r.ValueKind == JsonValueKind.Object)
            ? rows.EnumerateArray().ToList()
            : throw new InvalidDataException($"OPNsense's {what} answer is not a search result (no rows list of objects)");

    private static string? Text(JsonElement row, string key) =>
        row.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <summary>A boolean as PHP may encode it: <c>true</c>, <c>1</c> or <c>"1"</c>/<c>"true"</c>.</summary>
    private static bool? Flag(JsonElement row, string key) => row.TryGetProperty(key, out var value) ? value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null => false,
        JsonValueKind.Number => value.GetRawText() != "0",
        JsonValueKind.String => value.GetString() is "1" or "true",
        _ => null,
    } : null;

    /// <summary>An address list holding exactly one address (a connection may list several, or <c>%any</c>).</summary>
    private static IPAddress? Address(string? text) => IPAddress.TryParse(text?.Trim(), out var address) ? address : null;
}

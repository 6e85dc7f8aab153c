using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IpsecExporter.Sources.FortiGate;

/// <summary>
/// Translates FortiOS's <c>/api/v2/monitor/vpn/ipsec</c> answer into IKE and CHILD SAs: one IKE SA per phase-1 tunnel
/// (its <c>rgwy</c> the remote gateway), one CHILD SA per phase-2 <c>proxyid</c> entry with its selectors as CIDR and
/// its byte counters (FortiOS has no packet counters there). Keeps, per selector, the last counters it saw: when
/// either goes down (the SA was renegotiated, the tunnel flapped, someone reset the statistics) the CHILD SA gets a
/// new key, which the tracker folds into its monotonic totals like a rekey.
/// </summary>
public sealed partial class FortiGateMapper
{
    private Dictionary<string, Seen> _seen = new(StringComparer.Ordinal);

    /// <param name="answer">One VDOM's answer object, or the array of them that <c>vdom=*</c> returns.</param>
    /// <param name="qualifyByVdom">Name connections <c>VDOM/tunnel</c> (with <c>vdom: "*"</c>, where names may repeat).</param>
    /// <exception cref="InvalidDataException">The answer is not FortiOS's shape, or FortiOS reports an error.</exception>
    public List<IkeSa> Map(JsonElement answer, bool qualifyByVdom)
    {
        var next = new Dictionary<string, Seen>(StringComparer.Ordinal);
        var ikes = new List<IkeSa>();
        var vdoms = answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray().ToList() : [answer];
        foreach (var vdomAnswer in vdoms)
        {
            if (vdomAnswer.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"FortiOS answered {vdomAnswer.ValueKind} where a VDOM's result object was expected");
            }

            var vdom = Text(vdomAnswer, "vdom") ?? "root";
            var status = Text(vdomAnswer, "status");
            if (status != "success")
            {
                var httpStatus = vdomAnswer.TryGetProperty("http_status", out var code) ? $", http_status {code}" : "";
                throw new InvalidDataException($"FortiOS answered status '{status ?? "(none)"}' for VDOM {vdom}{httpStatus}");
            }

            if (!vdomAnswer.TryGetProperty("results", out var results) || results.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"FortiOS's answer for VDOM {vdom} has no results list");
            }

            foreach (var tunnel in results.EnumerateArray())
            {
                ikes.Add(MapTunnel(tunnel, vdom, qualifyByVdom, next));
            }
        }

        _seen = next;
        return ikes;
    }

    private IkeSa MapTunnel(JsonElement tunnel, string vdom, bool qualifyByVdom, Dictionary<string, Seen> next)
    {
        var name = Text(tunnel, "name") ?? throw new InvalidDataException($"FortiOS listed a tunnel without a name in VDOM {vdom}");
        var what = $"tunnel '{name}' (VDOM {vdom})";
        var connection = ParentOf(tunnel, name);
        if (qualifyByVdom)
        {
            connection = $"{vdom}/{connection}";
        }

        var children = new List<ChildSa>();
        if (tunnel.TryGetProperty("proxyid", out var proxyIds) && proxyIds.ValueKind == JsonValueKind.Array)
        {
            foreach (var proxyId in proxyIds.EnumerateArray())
            {
                children.Add(MapProxyId(proxyId, $"{vdom}/{name}", what, next));
            }
        }

        // FortiOS reports no phase-1 state here: a tunnel is up when one of its selectors is.
        var up = children.Any(c => c.IsInstalled);
        return new IkeSa(
            connection,
            $"{vdom}/{name}",
            up ? IkeSaState.Established : IkeSaState.Deleting,
            up ? "up" : "down",
            null,
            IPAddress.TryParse(Text(tunnel, "rgwy"), out var remote) ? remote : null,
            null,
            null,
            null,
            children);
    }

    private ChildSa MapProxyId(JsonElement proxyId, string tunnelKey, string what, Dictionary<string, Seen> next)
    {
        var name = Text(proxyId, "p2name") ?? throw new InvalidDataException($"{what}: a proxyid entry has no p2name");
        var status = Text(proxyId, "status") ?? "unknown";
        var local = Selectors(proxyId, "proxy_src");
        var remote = Selectors(proxyId, "proxy_dst");
        var expire = proxyId.TryGetProperty("expire", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var seconds) ? SaValueGuard.Seconds(seconds) : (TimeSpan?)null;
        var selectorKey = $"{tunnelKey}/{name}/{string.Join(',', local)}>{string.Join(',', remote)}";
        // The same selector listed twice is two SAs (the desynchronization this exporter exists to show): keep both.
        for (var copy = 2; next.ContainsKey(selectorKey); copy++)
        {
            selectorKey = $"{tunnelKey}/{name}/{string.Join(',', local)}>{string.Join(',', remote)}/{copy}";
        }

        var previous = _seen.GetValueOrDefault(selectorKey);
        if (status != "up")
        {
            // A down selector has no SA and carries no counters; the next one that comes up starts again.
            next[selectorKey] = (previous ?? new Seen(0, 0, 0)) with { Received = 0, Sent = 0, Generation = (previous?.Generation ?? 0) + 1 };
            return new ChildSa(name, $"{selectorKey}#down", ChildSaState.Deleted, status, local, remote, default) { LifeIn = expire };
        }

        var received = Counter(proxyId, "incoming_bytes", what);
        var sent = Counter(proxyId, "outgoing_bytes", what);
        var generation = previous?.Generation ?? 0;
        if (previous is not null && (received < previous.Received || sent < previous.Sent))
        {
            generation++;
        }

        next[selectorKey] = new Seen(received, sent, generation);
        return new ChildSa(name, $"{selectorKey}#{generation}", ChildSaState.Installed, status, local, remote, SaCounters.Bytes(received, sent))
        {
            LifeIn = expire,
        };
    }

    /// <summary>A dial-up instance (<c>parent</c> set, or <c>dialup</c> type named <c>PARENT_N</c>) belongs to its parent.</summary>
    private static string ParentOf(JsonElement tunnel, string name)
    {
        if (Text(tunnel, "parent") is { Length: > 0 } parent)
        {
            return parent;
        }

        return Text(tunnel, "type") == "dialup" && DialUpInstance().Match(name) is { Success: true } match ? match.Groups[1].Value : name;
    }

    private static List<string> Selectors(JsonElement proxyId, string key)
    {
        var selectors = new List<string>();
        if (proxyId.TryGetProperty(key, out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in list.EnumerateArray())
            {
                if (Text(entry, "subnet") is { } subnet)
                {
                    // Unparseable text is kept as FortiOS wrote it: it shows in reports and matches no pair.
                    selectors.Add(SelectorText.Parse(subnet) ?? subnet);
                }
            }
        }

        return selectors;
    }

    private static ulong Counter(JsonElement element, string key, string what)
    {
        if (!element.TryGetProperty(key, out var value))
        {
            throw new InvalidDataException($"{what}: an up proxyid entry has no {key}");
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out var counter)
            ? counter
            : throw new InvalidDataException($"{what}: {key} is not a byte counter: {value.ValueKind}");
    }

    private static string? Text(JsonElement element, string key) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [GeneratedRegex(@"^(.+)_[0-9]+$")]
    private static partial Regex DialUpInstance();

    private sealed record Seen(ulong Received, ulong Sent, int Generation);
}

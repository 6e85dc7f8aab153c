using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using IpsecExporter.Configuration;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// The article's "IPsec Issues Checklist" filled in for one tunnel: both public IPs, locations and equipment, inside
/// IPs and network pairs, the steps taken and what each showed, recent events, and the advice that follows.
/// </summary>
public sealed record PartnerReport(
    string Tunnel,
    string? Description,
    DateTimeOffset GeneratedAt,
    string Verdict,
    string Reason,
    string? FirstFailingCheck,
    DateTimeOffset VerdictSince,
    ReportEnd OurSide,
    ReportEnd TheirSide,
    IReadOnlyList<ReportPair> NetworkPairs,
    string? InsideSource,
    IReadOnlyList<ReportProbe> InsideTargets,
    ReportProbe? GatewayPing,
    IReadOnlyList<CheckResult> Steps,
    IReadOnlyList<TunnelEvent> Events,
    IReadOnlyList<string> Advice,
    string? DashboardUrl,
    string Window)
{
    /// <summary>State of the tunnel's newest IKE SA as the tunnel model last saw it; absent when unknown.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReportSaState? IkeSaState { get; init; }
}

/// <summary>An SA's state in neutral terms, and as the source spelled it (its own words, for whoever knows the gateway).</summary>
public sealed record ReportSaState(string State, string Vendor)
{
    /// <summary><c>ESTABLISHED</c>; with the vendor's text only where it says something else: <c>UNKNOWN (vendor: "PASSIVE")</c>.</summary>
    public string Described => string.Equals(State, Vendor, StringComparison.OrdinalIgnoreCase) ? State : $"{State} (vendor: \"{Vendor}\")";

    public static ReportSaState? Of<TState>(TState? state, string? vendor)
        where TState : struct, Enum =>
        state is { } known && vendor is not null ? new(known.ToString().ToUpperInvariant(), vendor) : null;
}

/// <summary>One end of the tunnel: who, where, what equipment, and its public IP as configured and as observed.</summary>
public sealed record ReportEnd(string? Name, string? Contact, string? Location, string? Equipment, string? ConfiguredGateway, string? ObservedAddress, string? IkeAddress);

/// <param name="SentPacketsInWindow">Packets sent over the window; null when the source does not count them.</param>
public sealed record ReportPair(
    string Local,
    string Remote,
    int? ChildSas,
    ulong? SentBytes,
    ulong? ReceivedBytes,
    ulong? SentPackets,
    ulong? ReceivedPackets,
    ulong? SentPacketsInWindow,
    ulong? ReceivedPacketsInWindow,
    long? Rekeys,
    string? DhGroup)
{
    /// <summary>
    /// Bytes sent over the window, only where the source has no sent packet counter (what the traffic step then judges);
    /// absent from the JSON otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ulong? SentBytesInWindow { get; init; }

    /// <summary>Like <see cref="SentBytesInWindow"/>, received.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ulong? ReceivedBytesInWindow { get; init; }

    /// <summary>State of the pair's newest CHILD SA as the tunnel model last saw it; absent when unknown.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReportSaState? ChildSaState { get; init; }
}

public sealed record ReportProbe(string Target, ulong Requests, ulong Responses, double? LossRatio, double? LastRttSeconds);

public static class PartnerReports
{
    /// <param name="observed">The tunnel model's newest observation of the tunnel, for the SA states (null: not shown).</param>
    public static PartnerReport Build(ExporterConfig config, TunnelView view, DateTimeOffset now, TunnelObservation? observed = null)
    {
        var tunnel = view.Tunnel;
        var latest = view.Latest;
        var baseline = view.Baseline;
        var diagnosis = view.Diagnosis;
        var ours = new ReportEnd(
            config.Site.Name,
            null,
            config.Site.Location,
            config.Site.Equipment,
            (tunnel.LocalGateway ?? config.Site.PublicIp)?.ToString(),
            latest?.Internet.PublicIp?.ToString(),
            latest?.Ike?.LocalHost?.ToString());
        var theirs = new ReportEnd(
            tunnel.Partner.Name,
            tunnel.Partner.Contact,
            tunnel.Partner.Location,
            tunnel.Partner.Equipment,
            tunnel.RemoteGateway,
            latest?.RemoteGatewayAddress?.ToString(),
            latest?.Ike?.RemoteHost?.ToString());

        var pairs = tunnel.NetworkPairs.Select(p =>
        {
            var now = latest?.Pairs.FirstOrDefault(s => s.Key == p.Key);
            var before = baseline?.Pairs.FirstOrDefault(s => s.Key == p.Key);
            var sent = CounterGrowth.Traffic(now?.SentPackets, before?.SentPackets, now?.SentBytes, before?.SentBytes);
            var received = CounterGrowth.Traffic(now?.ReceivedPackets, before?.ReceivedPackets, now?.ReceivedBytes, before?.ReceivedBytes);
            return new ReportPair(
                p.LocalText,
                p.RemoteText,
                now?.InstalledChildSas,
                now?.SentBytes,
                now?.ReceivedBytes,
                now?.SentPackets,
                now?.ReceivedPackets,
                In(sent, TrafficGrowth.Packets),
                In(received, TrafficGrowth.Packets),
                now?.Rekeys,
                now?.DhGroup)
            {
                SentBytesInWindow = In(sent, TrafficGrowth.Bytes),
                ReceivedBytesInWindow = In(received, TrafficGrowth.Bytes),
                ChildSaState = observed?.Pairs.FirstOrDefault(o => o.Pair == p) is { } pair ? ReportSaState.Of(pair.State, pair.StateText) : null,
            };

            static ulong? In(TrafficGrowth? growth, string unit) => growth?.Unit == unit ? growth.Value.Value : null;
        }).ToList();

        var inside = (latest?.Inside ?? []).Select(t => Probe(t.Target.ToString(), baseline?.Inside.FirstOrDefault(b => b.Target.Equals(t.Target))?.Counts, t.Counts)).ToList();
        var gateway = latest?.Gateway is { } g ? Probe(tunnel.RemoteGateway, baseline?.Gateway, g) : null;
        var dashboard = config.DashboardUrl(tunnel.Name)?.ToString();

        return new PartnerReport(
            tunnel.Name,
            tunnel.Description,
            now,
            TunnelDiagnosis.StatusLabel(diagnosis.Verdict),
            diagnosis.Reason,
            diagnosis.FirstFailingCheck,
            view.VerdictSince,
            ours,
            theirs,
            pairs,
            tunnel.Inside?.Source.ToString(),
            inside,
            gateway,
            diagnosis.Checks,
            view.Events,
            Advise(diagnosis),
            dashboard,
            Diagnoser.Format(config.Diagnosis.Window))
        {
            IkeSaState = observed is null ? null : ReportSaState.Of(observed.Ike.State, observed.Ike.StateText),
        };
    }

    /// <summary>What to do next, from the verdict and the failing steps, in the article's words of experience.</summary>
    public static IReadOnlyList<string> Advise(TunnelDiagnosis diagnosis)
    {
        var advice = new List<string>();
        bool Failed(string check) => diagnosis.Check(check).State == CheckState.Fail;

        switch (diagnosis.Verdict)
        {
            case Verdict.Healthy:
                advice.Add("No action needed: Phase 1 and Phase 2 are up and the tunnel carries traffic.");
                break;
            case Verdict.Unknown:
                advice.Add("Not enough evidence yet: check that the exporter can read its source (ipsec_source_up) and wait for a full diagnosis window.");
                break;
            case Verdict.Desynchronized:
                advice.Add("One side is desynchronized (it keeps an old SPI association). A tunnel reset on our side rarely clears the peer's state: ask the partner to clear their SAs for the network pairs above; some equipment only clears old associations on a reboot.");
                advice.Add("Once traffic flows again, fix the root cause or it will recur: check clock synchronization (NTP) on both gateways, enable PFS, keep lifetimes short with Phase 2 at about two-thirds of Phase 1.");
                break;
        }

        if (Failed(Checks.Internet))
        {
            advice.Add("Fix local internet connectivity first; if our public IP changed, give the partner the new address (or use a dynamic DNS name where their equipment allows it).");
        }

        if (Failed(Checks.GatewayReachable))
        {
            advice.Add("The partner's gateway drops echo requests or the path loses packets: keep the ping running (loss can be intermittent) and share the loss and RTT above with the partner and the ISPs. Blocking ICMP on gateways only makes troubleshooting harder.");
        }

        if (Failed(Checks.Phase1))
        {
            advice.Add("Phase 1 is not established: confirm both public IPs above are current on both ends, and ask the partner to check their IKE logs for our negotiation attempts (proposals, identities, pre-shared key).");
        }

        if (Failed(Checks.Phase2SingleSa) && diagnosis.Verdict != Verdict.Desynchronized)
        {
            advice.Add("A configured network pair has no CHILD SA: ask the partner to compare the network pairs (traffic selectors) and the Phase 2 proposal, including the PFS group, with ours.");
        }

        if (Failed(Checks.InsideReachable))
        {
            advice.Add("No inside address answers through the tunnel: try several inside addresses on the partner's side (the problem may be one host), and check routing and firewall rules for the inside networks on both ends. Test through the tunnel from inside hosts, never gateway to gateway.");
        }

        if (Failed(Checks.BestPractices))
        {
            advice.Add($"Best practices not met ({diagnosis.Check(Checks.BestPractices).Evidence}): PFS forces regular Phase 2 renegotiation, short lifetimes with Phase 2 at two-thirds of Phase 1 avoid rekey collisions, and NTP keeps rekey timers in step.");
        }

        return advice;
    }

    private static ReportProbe Probe(string target, ProbeCounts? before, ProbeCounts now)
    {
        var (requests, responses) = CounterGrowth.Since(now, before);
        double? loss = requests == 0 ? null : (double)(requests - responses) / requests;
        return new ReportProbe(target, requests, responses, loss, now.LastRtt?.TotalSeconds);
    }

    public static string Percent(double? ratio) => ratio is null ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{ratio.Value * 100:0.#}%");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(PartnerReport))]
[JsonSerializable(typeof(IReadOnlyList<PartnerReport>))]
[JsonSerializable(typeof(IReadOnlyList<TunnelSummary>))]
[JsonSerializable(typeof(Web.StatusPageData))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

internal static class ReportJson
{
    /// <summary>For JSON inside an HTML &lt;script&gt; element: '&lt;', '&gt;' and '&amp;' escaped, so no text can close it.</summary>
    public static readonly JsonSerializerOptions Embedded = new(ReportJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default,
        TypeInfoResolver = ReportJsonContext.Default,
        WriteIndented = false,
    };

    /// <summary>Readable JSON: "&lt;-&gt;" and "+" stay as they are (the output is never embedded in HTML).</summary>
    public static readonly JsonSerializerOptions Options = new(ReportJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = ReportJsonContext.Default,
    };
}

/// <summary>One row of <c>/api/tunnels</c>, and of the status page, which renders from the same JSON.</summary>
public sealed record TunnelSummary(
    string Tunnel,
    string? Description,
    string Verdict,
    string Reason,
    string? FirstFailingCheck,
    DateTimeOffset VerdictSince,
    IReadOnlyList<CheckResult> Checks,
    string ReportUrl,
    SummaryGateways Gateways,
    PartnerConfig Partner,
    SummarySource Source,
    IReadOnlyList<PracticeResult> Practices,
    string? RunbookUrl,
    string? DashboardUrl)
{
    /// <summary>The SA states the tunnel model last saw; null before its source was first read.</summary>
    public SummarySaStates? SaStates { get; init; }
}

/// <summary>The newest IKE SA's state and each configured pair's CHILD SA state (null where none is listed).</summary>
public sealed record SummarySaStates(ReportSaState? Ike, IReadOnlyList<SummaryPairState> Pairs);

public sealed record SummaryPairState(string Local, string Remote, ReportSaState? ChildSa);

/// <summary>Both ends as configured and as observed: the facts a partner asks for first.</summary>
public sealed record SummaryGateways(string? Local, string? LocalObserved, string Remote, string? RemoteResolved, string? RemoteObserved);

/// <summary>The SA source a tunnel is read from, and why it failed last.</summary>
public sealed record SummarySource(string Name, bool Up, DateTimeOffset? LastSuccess, string? LastError);

namespace IpsecExporter.Metrics;

/// <summary>
/// The families rendered at scrape time by their owners (<see cref="IMetricsContributor"/>), docs/METRICS.md. Units
/// are base units; counters end in <c>_total</c>; nothing is labelled by SPI.
/// </summary>
public static class MetricFamilies
{
    /// <summary>The one series of an unlabelled family.</summary>
    public static readonly MetricLabels Unlabelled = LabelNames.None.Values();

    public static readonly MetricFamily BuildInfo = new("ipsec_exporter_build_info", "Build of the exporter, value 1.", MetricKind.Gauge, new LabelNames("version", "revision", "runtime"));
    public static readonly MetricFamily ConfigLastReloadSuccessful = new("ipsec_exporter_config_last_reload_successful", "1 when the last configuration (re)load succeeded.", MetricKind.Gauge, LabelNames.None);

    public static readonly LabelNames TunnelLabels = new("tunnel");

    public static readonly LabelNames PairLabels = new("tunnel", "local_ts", "remote_ts");

    public static readonly LabelNames TunnelInfoLabels = new("tunnel", "description", "location", "local_gateway", "remote_gateway", "source");

    public static readonly MetricFamily TunnelInfo = new("ipsec_tunnel_info", "Static facts about a configured tunnel, value 1, for joins.", MetricKind.Gauge, TunnelInfoLabels);

    public static readonly MetricFamily IkeSas = new("ipsec_ike_sas", "ESTABLISHED IKE SAs of the tunnel's connection.", MetricKind.Gauge, TunnelLabels);
    public static readonly MetricFamily IkeSaEstablished = new("ipsec_ike_sa_established", "1 when Phase 1 (an IKE SA) is established.", MetricKind.Gauge, TunnelLabels);
    public static readonly MetricFamily IkeSaRekeys = new("ipsec_ike_sa_rekeys_total", "IKE SA replacements observed.", MetricKind.Counter, TunnelLabels);
    public static readonly MetricFamily IkeSaRekeyInterval = new("ipsec_ike_sa_rekey_interval_seconds", "Configured or observed IKE SA rekey interval.", MetricKind.Gauge, TunnelLabels);

    public static readonly MetricFamily ChildSas = new("ipsec_child_sas", "INSTALLED CHILD SAs (SPI associations) per configured network pair; more than one beyond a rekey overlap means desynchronization.", MetricKind.Gauge, PairLabels);
    public static readonly MetricFamily ChildSaReceivedBytes = new("ipsec_child_sa_received_bytes_total", "Bytes received (decrypted) on the network pair, monotonic across rekeys and reconnects.", MetricKind.Counter, PairLabels);
    public static readonly MetricFamily ChildSaSentBytes = new("ipsec_child_sa_sent_bytes_total", "Bytes sent (encrypted) on the network pair, monotonic across rekeys and reconnects.", MetricKind.Counter, PairLabels);
    public static readonly MetricFamily ChildSaReceivedPackets = new("ipsec_child_sa_received_packets_total", "Packets received on the network pair, monotonic across rekeys and reconnects.", MetricKind.Counter, PairLabels);
    public static readonly MetricFamily ChildSaSentPackets = new("ipsec_child_sa_sent_packets_total", "Packets sent on the network pair, monotonic across rekeys and reconnects.", MetricKind.Counter, PairLabels);
    public static readonly MetricFamily ChildSaLastReceived = new("ipsec_child_sa_last_received_timestamp_seconds", "Unix time of the last packet received on the network pair.", MetricKind.Gauge, PairLabels);
    public static readonly MetricFamily ChildSaLastSent = new("ipsec_child_sa_last_sent_timestamp_seconds", "Unix time of the last packet sent on the network pair.", MetricKind.Gauge, PairLabels);
    public static readonly MetricFamily ChildSaRekeys = new("ipsec_child_sa_rekeys_total", "CHILD SA replacements observed on the network pair.", MetricKind.Counter, PairLabels);
    public static readonly MetricFamily ChildSaRekeyInterval = new("ipsec_child_sa_rekey_interval_seconds", "Configured or observed CHILD SA rekey interval.", MetricKind.Gauge, PairLabels);
    public static readonly MetricFamily ChildSaLifetime = new("ipsec_child_sa_lifetime_seconds", "Configured or observed CHILD SA hard lifetime.", MetricKind.Gauge, PairLabels);
    public static readonly MetricFamily ChildSaPfs = new("ipsec_child_sa_pfs", "1 when rekeyed CHILD SAs carry a DH group (Perfect Forward Secrecy); absent while unknown.", MetricKind.Gauge, PairLabels);

    public static readonly LabelNames GatewayLabels = TunnelLabels;

    /// <summary>The pair whose remote network holds the target: each pair is its own CHILD SA, so rules judge per pair.</summary>
    public static readonly LabelNames InsideLabels = new("tunnel", "target", "local_ts", "remote_ts");

    public static readonly MetricFamily GatewayPingRequests = new("ipsec_gateway_ping_requests_total", "ICMP echo requests sent to the remote gateway's public address.", MetricKind.Counter, GatewayLabels);
    public static readonly MetricFamily GatewayPingResponses = new("ipsec_gateway_ping_responses_total", "Matching ICMP echo replies from the remote gateway.", MetricKind.Counter, GatewayLabels);
    public static readonly MetricFamily GatewayPingRtt = new("ipsec_gateway_ping_rtt_seconds", "Round-trip time of echo replies from the remote gateway.", MetricKind.Histogram, GatewayLabels);
    public static readonly MetricFamily InsidePingRequests = new("ipsec_inside_ping_requests_total", "ICMP echo requests sent through the tunnel to an inside address.", MetricKind.Counter, InsideLabels);
    public static readonly MetricFamily InsidePingResponses = new("ipsec_inside_ping_responses_total", "Matching echo replies from an inside address through the tunnel.", MetricKind.Counter, InsideLabels);
    public static readonly MetricFamily InsidePingRtt = new("ipsec_inside_ping_rtt_seconds", "Round-trip time through the tunnel to an inside address.", MetricKind.Histogram, InsideLabels);
    public static readonly MetricFamily GatewayPingSendErrors = new("ipsec_gateway_ping_send_errors_total", "Echo requests to the remote gateway that could not be sent (no address resolved, a local socket error); not lost replies.", MetricKind.Counter, GatewayLabels);
    public static readonly MetricFamily InsidePingSendErrors = new("ipsec_inside_ping_send_errors_total", "Echo requests to an inside address that could not be sent (a local socket error); not lost replies.", MetricKind.Counter, InsideLabels);
    public static readonly MetricFamily GatewayPingLateResponses = new("ipsec_gateway_ping_late_responses_total", "Echo replies from the remote gateway that arrived after the probe timeout (already counted as lost).", MetricKind.Counter, GatewayLabels);
    public static readonly MetricFamily GatewayPingDuplicateResponses = new("ipsec_gateway_ping_duplicate_responses_total", "Extra echo replies from the remote gateway to an already answered request.", MetricKind.Counter, GatewayLabels);
    public static readonly MetricFamily InsidePingLateResponses = new("ipsec_inside_ping_late_responses_total", "Echo replies from an inside address that arrived after the probe timeout (already counted as lost).", MetricKind.Counter, InsideLabels);
    public static readonly MetricFamily InsidePingDuplicateResponses = new("ipsec_inside_ping_duplicate_responses_total", "Extra echo replies from an inside address to an already answered request.", MetricKind.Counter, InsideLabels);

    public static readonly MetricFamily ProbeKernelTimestamps = new("ipsec_probe_kernel_timestamps", "1 when every ICMP probe socket times replies with kernel receive timestamps, 0 when one falls back to the monotonic clock or System.Net.NetworkInformation.Ping; absent before the first probe.", MetricKind.Gauge, LabelNames.None);

    public static readonly LabelNames TunnelCheckLabels = new("tunnel", "check");

    public static readonly LabelNames TunnelStatusLabels = new("tunnel", "status");

    public static readonly LabelNames BestPracticeLabels = new("tunnel", "practice");

    public static readonly MetricFamily TunnelCheck = new("ipsec_tunnel_check", "1 when the troubleshooting check passes for the tunnel.", MetricKind.Gauge, TunnelCheckLabels);
    public static readonly MetricFamily TunnelStatus = new("ipsec_tunnel_status", "Verdict of the tunnel as a state set: exactly one status is 1.", MetricKind.Gauge, TunnelStatusLabels);
    public static readonly MetricFamily BestPractice = new("ipsec_best_practice", "1 when the tunnel follows the best practice.", MetricKind.Gauge, BestPracticeLabels);

    public static readonly LabelNames PublicIpLookupLabels = new("lookup");

    public static readonly LabelNames PublicIpCheckLabels = new("check");

    public static readonly MetricFamily PublicIpInfo = new("ipsec_public_ip_info", "Observed public IP address of this site, value 1.", MetricKind.Gauge, new LabelNames("address"));
    public static readonly MetricFamily PublicIpMatchesExpected = new("ipsec_public_ip_matches_expected", "1 when the observed public IP equals site.public_ip.", MetricKind.Gauge, LabelNames.None);
    public static readonly MetricFamily PublicIpChanges = new("ipsec_public_ip_changes_total", "Changes of the observed public IP address.", MetricKind.Counter, LabelNames.None);
    public static readonly MetricFamily PublicIpLookupSuccess = new("ipsec_public_ip_lookup_success", "1 when the last public IP lookup answered with an address (lookup: primary or cross_check).", MetricKind.Gauge, PublicIpLookupLabels);
    public static readonly MetricFamily PublicIpCrossCheckMatches = new("ipsec_public_ip_cross_check_matches", "1 when a second opinion agrees with the observed public IP (check: lookup or ike_local_host); absent while unknown.", MetricKind.Gauge, PublicIpCheckLabels);

    public static readonly LabelNames GatewayAddressLabels = new("tunnel", "address");

    public static readonly MetricFamily RemoteGatewayAddressInfo = new("ipsec_remote_gateway_address_info", "Resolved address of the remote gateway, value 1.", MetricKind.Gauge, GatewayAddressLabels);
    public static readonly MetricFamily RemoteGatewayResolutionSuccess = new("ipsec_remote_gateway_resolution_success", "1 when the remote gateway's name resolved on the last try (always 1 for an IP address).", MetricKind.Gauge, TunnelLabels);
    public static readonly MetricFamily RemoteGatewayAddressChanges = new("ipsec_remote_gateway_address_changes_total", "Changes of the remote gateway's resolved address.", MetricKind.Counter, TunnelLabels);

    public static readonly LabelNames ServerLabels = new("server");

    public static readonly MetricFamily ClockOffset = new("ipsec_clock_offset_seconds", "SNTP clock offset of this host against the server (negative when the local clock is behind).", MetricKind.Gauge, ServerLabels);
    public static readonly MetricFamily ClockDelay = new("ipsec_clock_delay_seconds", "Round-trip delay of the SNTP exchange that decided the offset (the shortest of the round); the offset's error is at most half of it.", MetricKind.Gauge, ServerLabels);
    public static readonly MetricFamily ClockProbeSuccess = new("ipsec_clock_probe_success", "1 when the last SNTP query to the server succeeded.", MetricKind.Gauge, ServerLabels);

    public static readonly LabelNames SourceLabels = new("source");

    public static readonly MetricFamily SourceUp = new("ipsec_source_up", "1 when the last collection from the source succeeded.", MetricKind.Gauge, SourceLabels);
    public static readonly MetricFamily SourceLastSuccess = new("ipsec_source_last_success_timestamp_seconds", "Unix time of the last successful collection from the source.", MetricKind.Gauge, SourceLabels);
    public static readonly MetricFamily SourceEventsConnected = new("ipsec_source_events_connected", "1 while the source's event stream (VICI SA events) is connected; 0 while rekeys are only seen by polling. Absent for sources without events.", MetricKind.Gauge, SourceLabels);
    public static readonly MetricFamily SourceCollectDuration = new("ipsec_source_collect_duration_seconds", "Duration of the last collection from the source.", MetricKind.Gauge, SourceLabels);

    /// <summary>Every family above, for the checks that compare docs, alerts and dashboards with what can be exported.</summary>
    public static IReadOnlyList<MetricFamily> All { get; } =
    [
        BuildInfo, ConfigLastReloadSuccessful, ProbeKernelTimestamps,
        PublicIpInfo, PublicIpMatchesExpected, PublicIpChanges, PublicIpLookupSuccess, PublicIpCrossCheckMatches,
        TunnelInfo, GatewayPingRequests, GatewayPingResponses, GatewayPingRtt, InsidePingRequests, InsidePingResponses, InsidePingRtt,
        GatewayPingSendErrors, InsidePingSendErrors, GatewayPingLateResponses, GatewayPingDuplicateResponses, InsidePingLateResponses, InsidePingDuplicateResponses,
        IkeSas, IkeSaEstablished, IkeSaRekeys, IkeSaRekeyInterval, ChildSas, ChildSaReceivedBytes, ChildSaSentBytes,
        ChildSaReceivedPackets, ChildSaSentPackets, ChildSaLastReceived, ChildSaLastSent, ChildSaRekeys, ChildSaRekeyInterval, ChildSaLifetime, ChildSaPfs,
        TunnelCheck, TunnelStatus, BestPractice, RemoteGatewayAddressInfo, RemoteGatewayResolutionSuccess, RemoteGatewayAddressChanges, ClockOffset, ClockDelay, ClockProbeSuccess, SourceUp, SourceLastSuccess, SourceEventsConnected, SourceCollectDuration,
    ];
}

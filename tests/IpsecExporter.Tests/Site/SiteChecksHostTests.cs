using System.Net;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Tests.Site.Ntp;
using IpsecExporter.Tests.Site.PublicIp;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace IpsecExporter.Tests.Site;

/// <summary>The site checks as the exporter runs them: registered, started by the host, visible on /metrics.</summary>
[Trait("Needs", "root")]
public sealed class SiteChecksHostTests
{
    [Fact]
    public async Task The_running_exporter_serves_site_metrics()
    {
        using var ntp = new TestNtpResponder(TimeProvider.System);
        using var http = HttpPublicIpLookupTests.StartLoopback();
        http.Given(Request.Create().WithPath("/ip").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/plain").WithBody("203.0.113.7"));
        var config = TestConfigs.Parse($$"""
            site:
              name: hq
              public_ip: 203.0.113.7
              public_ip_lookup: { method: http, url: "{{http.Urls[0]}}/ip" }
              ntp_servers: ["{{ntp.Server}}"]
            sources: [{ name: gw, type: no-sas }]
            tunnels:
              - name: branch-b
                remote_gateway: 192.0.2.1
                network_pairs: [{ local: 10.1.0.0/24, remote: 10.2.0.0/24 }]
                expect: { pfs: true, ike_rekey: 8h, child_rekey: 5h20m }
            """);
        var (app, baseAddress) = await InProcessExporter.StartAsync(config, TestConfigs.Registry);
        await using var running = app;
        try
        {
            Assert.Equal(IPAddress.Parse("192.0.2.1"), app.Services.GetRequiredService<IGatewayAddressProvider>().GetAddress("branch-b"));
            using var client = new HttpClient { BaseAddress = baseAddress };
            string[] expected =
            [
                "ipsec_public_ip_info{address=\"203.0.113.7\"} 1",
                "ipsec_public_ip_matches_expected 1",
                $"ipsec_clock_probe_success{{server=\"{ntp.Server}\"}} 1",
                "ipsec_remote_gateway_address_info{tunnel=\"branch-b\",address=\"192.0.2.1\"} 1",
                "ipsec_best_practice{tunnel=\"branch-b\",practice=\"phase2_two_thirds_phase1\"} 1",
            ];
            var text = "";
            await Poll.UntilAsync(
                async () =>
                {
                    text = await client.GetStringAsync("/metrics");
                    return expected.All(e => text.Contains(e, StringComparison.Ordinal));
                },
                TimeSpan.FromSeconds(15),
                "the site metrics on /metrics");

            // SPEC: `promtool check metrics` on the exporter's output prints nothing.
            Assert.Equal(new CommandResult(0, "", ""), await ExternalCommand.RunWithInputAsync(text, "promtool", "check", "metrics"));
        }
        finally
        {
            await app.StopAsync();
        }
    }
}

using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Site.Dns;
using IpsecExporter.Site.PublicIp;

namespace IpsecExporter.Tests.Site.PublicIp;

/// <summary>The DNS lookup against a real dnsmasq serving the whoami names.</summary>
[Trait("Needs", "daemon")]
public sealed class DnsPublicIpLookupTests
{
    private static PublicIpLookupConfig Lookup(DnsmasqServer dns, DnsPublicIpQuery query) =>
        new(PublicIpLookupMethod.Dns, dns.Server, null, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(2)) { Query = query };

    [Fact]
    public async Task Google_txt_answer_is_read_past_the_client_subnet_string()
    {
        // Through a resolver, Google answers with a second TXT string naming the client subnet.
        await using var dns = await DnsmasqServer.StartAsync([
            "txt-record=o-o.myaddr.l.google.com,\"edns0-client-subnet 198.51.100.0/24\"",
            "txt-record=o-o.myaddr.l.google.com,\"203.0.113.7\"",
        ]);

        var address = await new DnsPublicIpLookup().LookupAsync(Lookup(dns, DnsPublicIpQuery.GoogleTxt), CancellationToken.None);

        Assert.Equal(IPAddress.Parse("203.0.113.7"), address);
    }

    [Fact]
    public async Task OpenDns_a_answer_is_the_address()
    {
        await using var dns = await DnsmasqServer.StartAsync(["host-record=myip.opendns.com,198.51.100.4"]);

        var address = await new DnsPublicIpLookup().LookupAsync(Lookup(dns, DnsPublicIpQuery.OpenDnsA), CancellationToken.None);

        Assert.Equal(IPAddress.Parse("198.51.100.4"), address);
    }

    [Fact]
    public async Task Txt_without_an_address_is_an_error()
    {
        await using var dns = await DnsmasqServer.StartAsync(["txt-record=o-o.myaddr.l.google.com,\"not an address\""]);

        var error = await Assert.ThrowsAsync<PublicIpLookupException>(() => new DnsPublicIpLookup().LookupAsync(Lookup(dns, DnsPublicIpQuery.GoogleTxt), CancellationToken.None));

        Assert.Equal($"DNS server {dns.Server} returned no address for TXT o-o.myaddr.l.google.com", error.Message);
    }

    [Fact]
    public async Task A_server_without_the_name_is_an_error_naming_the_server()
    {
        await using var dns = await DnsmasqServer.StartAsync([]);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => new DnsPublicIpLookup().LookupAsync(Lookup(dns, DnsPublicIpQuery.OpenDnsA), CancellationToken.None));

        Assert.True(error is DnsQueryException or PublicIpLookupException, error.ToString());
        Assert.Contains(dns.Server, error.Message, StringComparison.Ordinal);
    }
}

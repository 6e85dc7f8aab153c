using System.Net;
using DnsClient;
using IpsecExporter.Configuration;
using IpsecExporter.Site.Dns;

namespace IpsecExporter.Site.PublicIp;

/// <summary>
/// The article's <c>dig txt o-o.myaddr.l.google.com @ns1.google.com</c>: a name whose answer is the asker's address,
/// asked directly of the configured server (Google's TXT, or OpenDNS's A <c>myip.opendns.com</c>).
/// </summary>
public sealed class DnsPublicIpLookup : IPublicIpLookup
{
    public const string GoogleTxtName = "o-o.myaddr.l.google.com";
    public const string OpenDnsAName = "myip.opendns.com";

    public PublicIpLookupMethod Method => PublicIpLookupMethod.Dns;

    public async Task<IPAddress> LookupAsync(PublicIpLookupConfig lookup, CancellationToken cancellationToken)
    {
        if (lookup.Server is null || !HostAndPort.TryParse(lookup.Server, out var server))
        {
            throw new PublicIpLookupException($"invalid DNS server '{lookup.Server}'");
        }

        var (name, type) = lookup.Query == DnsPublicIpQuery.OpenDnsA ? (OpenDnsAName, QueryType.A) : (GoogleTxtName, QueryType.TXT);
        var response = await DnsServerQuery.QueryAsync(server, name, type, lookup.Timeout, cancellationToken);

        // Through a resolver, Google adds an "edns0-client-subnet ..." TXT string: take the string that is an address.
        IEnumerable<string> answers = type == QueryType.TXT
            ? response.Answers.TxtRecords().SelectMany(r => r.Text)
            : response.Answers.ARecords().Select(r => r.Address.ToString());
        foreach (var answer in answers)
        {
            if (PublicIpText.TryParse(answer, out var address))
            {
                return address;
            }
        }

        throw new PublicIpLookupException($"DNS server {server} returned no address for {type} {name}");
    }
}

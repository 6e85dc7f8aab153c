using DnsClient;
using IpsecExporter.Configuration;

namespace IpsecExporter.Site.Dns;

/// <summary>A DNS question that could not be answered; the message says by whom and why.</summary>
public sealed class DnsQueryException : Exception
{
    public DnsQueryException()
    {
    }

    public DnsQueryException(string message)
        : base(message)
    {
    }

    public DnsQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Asks one DNS server directly, bypassing the system resolver: no cache (a changed answer must be seen at once) and no
/// retries (the caller's interval is the retry).
/// </summary>
public static class DnsServerQuery
{
    public const int DefaultPort = 53;

    public static async Task<IDnsQueryResponse> QueryAsync(HostAndPort server, string name, QueryType type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var endpoint = await server.ResolveAsync(DefaultPort, cancellationToken);
        var client = new LookupClient(new LookupClientOptions(new NameServer(endpoint))
        {
            UseCache = false,
            Retries = 0,
            Timeout = timeout,
            UseTcpFallback = true,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
        });

        IDnsQueryResponse response;
        try
        {
            response = await client.QueryAsync(name, type, QueryClass.IN, cancellationToken);
        }
        catch (DnsResponseException e)
        {
            throw new DnsQueryException($"DNS server {server} did not answer {type} {name}: {e.Message}", e);
        }

        if (response.HasError)
        {
            throw new DnsQueryException($"DNS server {server} answered {type} {name} with {response.ErrorMessage}");
        }

        return response;
    }
}

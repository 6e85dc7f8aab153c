using System.Net;
using IpsecExporter.Configuration;

namespace IpsecExporter.Site.PublicIp;

/// <summary>One way of asking the Internet which address this site's traffic comes from (site.public_ip_lookup.method).</summary>
public interface IPublicIpLookup
{
    PublicIpLookupMethod Method { get; }

    /// <summary>The observed public address; throws <see cref="PublicIpLookupException"/> (or a network exception) when there is none.</summary>
    Task<IPAddress> LookupAsync(PublicIpLookupConfig lookup, CancellationToken cancellationToken);
}

/// <summary>The one place that maps a lookup <c>method</c> to its implementation.</summary>
public sealed class PublicIpLookupRegistry(IEnumerable<IPublicIpLookup> lookups)
{
    private readonly Dictionary<PublicIpLookupMethod, IPublicIpLookup> _lookups = lookups.ToDictionary(l => l.Method);

    public IPublicIpLookup Get(PublicIpLookupMethod method) =>
        _lookups.GetValueOrDefault(method) ?? throw new InvalidOperationException($"public IP lookup method {method} is not registered");
}

/// <summary>A lookup got an answer that is not a usable public IP address, or no answer.</summary>
public sealed class PublicIpLookupException : Exception
{
    public PublicIpLookupException()
    {
    }

    public PublicIpLookupException(string message)
        : base(message)
    {
    }

    public PublicIpLookupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

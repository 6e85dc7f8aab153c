using System.Collections.Concurrent;
using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Sources;

namespace IpsecExporter.Site.PublicIp;

/// <summary>
/// Remembers the local addresses of ESTABLISHED IKE SAs (VICI <c>local-host</c>) that are public, so the public IP
/// lookup can be cross-checked against what the gateway itself uses. A gateway behind NAT has a private local-host,
/// which says nothing about the public IP and is left out.
/// </summary>
public sealed class IkeLocalHostObserver : ISnapshotObserver
{
    private readonly ConcurrentDictionary<string, IReadOnlySet<IPAddress>> _bySource = new(StringComparer.Ordinal);

    /// <summary>Public local addresses of established IKE SAs, over every source; empty while none is known.</summary>
    public IReadOnlySet<IPAddress> PublicLocalHosts => _bySource.Values.SelectMany(s => s).ToHashSet();

    public void OnCollected(SourceConfig source, SaSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            // A failed collection tells nothing about the current addresses.
            _bySource.TryRemove(source.Name, out _);
            return;
        }

        _bySource[source.Name] = snapshot.IkeSas
            .Where(sa => sa.IsEstablished && sa.LocalHost is not null && AddressScope.IsPublic(sa.LocalHost))
            .Select(sa => sa.LocalHost!.IsIPv4MappedToIPv6 ? sa.LocalHost.MapToIPv4() : sa.LocalHost)
            .ToHashSet();
    }

    public void OnRemoved(string sourceName) => _bySource.TryRemove(sourceName, out _);
}

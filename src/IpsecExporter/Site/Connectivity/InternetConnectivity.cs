namespace IpsecExporter.Site.Connectivity;

/// <summary>The <c>internet</c> input of the diagnosis: is this site on the Internet at all, and why (not).</summary>
public sealed record InternetStatus(bool Up, string Reason);

/// <summary>
/// The article's first step, "Verify Local Internet Connectivity": an operational interface other than loopback, a
/// default route through one, and (when a lookup is configured) an answer from the public IP lookup.
/// </summary>
public static class InternetConnectivity
{
    /// <param name="facts">interfaces and default routes of this host</param>
    /// <param name="lookupError">null when the lookup succeeded or none is configured; otherwise why it failed</param>
    /// <param name="lookupConfigured">whether site.public_ip_lookup has a method</param>
    public static InternetStatus Evaluate(LocalNetworkFacts facts, bool lookupConfigured, string? lookupError)
    {
        var operational = facts.Interfaces.Where(i => i.Operational && !i.Loopback).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        if (operational.Count == 0)
        {
            return new InternetStatus(false, "no operational network interface besides loopback");
        }

        if (facts.DefaultRoutes.Count == 0)
        {
            return new InternetStatus(false, $"no default route (operational interfaces: {string.Join(", ", operational.Order(StringComparer.Ordinal))})");
        }

        var usable = facts.DefaultRoutes.Where(r => operational.Contains(r.Interface)).ToList();
        if (usable.Count == 0)
        {
            var devices = string.Join(", ", facts.DefaultRoutes.Select(r => r.Interface).Distinct().Order(StringComparer.Ordinal));
            return new InternetStatus(false, $"the default route goes through {devices}, which is not operational");
        }

        var route = string.Join(", ", usable.Select(r => r.Gateway is null ? $"dev {r.Interface}" : $"{r.Gateway} dev {r.Interface}"));
        if (!lookupConfigured)
        {
            return new InternetStatus(true, $"default route via {route} (no public IP lookup configured)");
        }

        return lookupError is null
            ? new InternetStatus(true, $"default route via {route}; the public IP lookup answered")
            : new InternetStatus(false, $"default route via {route}, but the public IP lookup failed: {lookupError}");
    }
}

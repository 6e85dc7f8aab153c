using IpsecExporter.Configuration;

namespace IpsecExporter.Diagnosis;

/// <summary>Gathers what the source, the probes and the site checks currently know about one tunnel.</summary>
public interface ITunnelSampler
{
    TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now);
}

using IpsecExporter.Configuration;

namespace IpsecExporter.Diagnosis;

/// <summary>Gathers what the source, the probes and the site checks currently know about one tunnel.</summary>
public interface ITunnelSampler
{
    /// <param name="previous">The tunnel's sample of the round before: a sampler may hand over its parts again where they are equal.</param>
    TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now, TunnelSample? previous);
}

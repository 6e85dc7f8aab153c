using IpsecExporter.Sources.FortiGate;
using IpsecExporter.Sources.Http;
using IpsecExporter.Sources.MikroTik;
using IpsecExporter.Sources.OpnSense;
using IpsecExporter.Sources.PanOs;
using IpsecExporter.Sources.PfSense;
using IpsecExporter.Sources.Vici;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace IpsecExporter.Sources;

/// <summary>Maps a source's YAML <c>type</c> to the registered <see cref="ISaSourceType"/>.</summary>
public sealed class SaSourceRegistry
{
    private readonly Dictionary<string, ISaSourceType> _types;

    internal SaSourceRegistry(IEnumerable<ISaSourceType> types)
    {
        _types = types.ToDictionary(t => t.Type, StringComparer.Ordinal);
    }

    /// <summary>The registry of every source type this build supports, for tools that build no host (the benchmarks).</summary>
    public static SaSourceRegistry BuiltIn()
    {
        using var services = new ServiceCollection().AddSaSourceTypes().BuildServiceProvider();
        return services.GetRequiredService<SaSourceRegistry>();
    }

    public IReadOnlyCollection<string> Types => _types.Keys.Order(StringComparer.Ordinal).ToList();

    internal IReadOnlyCollection<ISaSourceType> All => _types.Values;

    internal ISaSourceType? Find(string type) => _types.GetValueOrDefault(type);
}

public static class SaSourceServiceCollectionExtensions
{
    /// <summary>Every source type this build supports: one <see cref="AddSaSource{T}"/> line per type.</summary>
    public static IServiceCollection AddSaSourceTypes(this IServiceCollection services) =>
        services.AddHttpSourceClients().AddSaSource<ViciSourceType>().AddSaSource<FortiGateSourceType>().AddSaSource<PanOsSourceType>().AddSaSource<MikroTikSourceType>()
            .AddSaSource<OpnSenseSourceType>().AddSaSource<PfSenseSourceType>();

    /// <summary>The shared HTTP client of the vendor API sources (<see cref="HttpSourceClients"/>).</summary>
    public static IServiceCollection AddHttpSourceClients(this IServiceCollection services)
    {
        services.AddHttpClient();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HttpSourceHandlers>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HttpClientFactoryOptions>, HttpSourceHandlers>(sp => sp.GetRequiredService<HttpSourceHandlers>()));
        services.TryAddSingleton(sp => new HttpSourceClients(
            sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<HttpSourceHandlers>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<HttpSourceClients>>()));
        return services;
    }

    /// <summary>Registers a source type (and the registry that finds it by its <c>type</c>).</summary>
    internal static IServiceCollection AddSaSource<T>(this IServiceCollection services)
        where T : class, ISaSourceType
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISaSourceType, T>());
        services.TryAddSingleton(sp => new SaSourceRegistry(sp.GetServices<ISaSourceType>()));
        return services;
    }
}

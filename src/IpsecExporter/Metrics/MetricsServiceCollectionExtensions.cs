namespace IpsecExporter.Metrics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>Makes the singleton <typeparamref name="T"/> (registered on its own) write its families into <c>/metrics</c>.</summary>
    public static IServiceCollection AddMetricsContributor<T>(this IServiceCollection services)
        where T : class, IMetricsContributor
    {
        services.AddSingleton<IMetricsContributor>(sp => sp.GetRequiredService<T>());
        return services;
    }
}

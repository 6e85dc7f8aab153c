namespace IpsecExporter.Tests.Support;

/// <summary>Files of the checkout the tests run from.</summary>
public static class Repository
{
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([Configuration.ConfigLoaderTests.RepositoryRoot(), .. parts]);
}

namespace IpsecExporter.Tests.Support;

/// <summary>Files of the checkout the tests run from.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "ipsec-exporter.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"ipsec-exporter.sln not found above {AppContext.BaseDirectory}");
    }
}

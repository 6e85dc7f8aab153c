using IpsecExporter.Cli;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Cli;

public sealed class CliAppTests
{
    [Fact]
    public async Task Check_config_exits_0_on_a_valid_file()
    {
        var (code, stdout, _) = await RunAsync("check-config", "--config", Fixtures.Path("config", "valid-minimal.yaml"));

        Assert.Equal(0, code);
        Assert.Contains("valid (1 tunnel(s), 1 source(s))", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_prints_every_error_as_file_line_column_and_exits_2()
    {
        var path = Fixtures.Path("config", "invalid-many-errors.yaml");

        var (code, _, stderr) = await RunAsync("check-config", "--config", path);

        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, line => Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(path)}:\\d+:\\d+: ", line));
    }

    [Fact]
    public async Task Run_refuses_an_invalid_file_with_the_same_output()
    {
        var path = Fixtures.Path("config", "invalid-duplicate-tunnel.yaml");

        var (code, _, stderr) = await RunAsync("run", "--config", path, "--listen", "127.0.0.1:1");

        Assert.Equal(2, code);
        Assert.Equal($"{path}:9:11: tunnels[1].name: duplicate tunnel name 'branch'", stderr.Trim());
    }

    [Fact]
    public async Task Check_config_knows_the_source_types_registered_with_the_host_services()
    {
        using var directory = new TempDirectory();
        var path = directory.Write("ipsec.yaml", "site: { name: hq }\nsources: [ { name: gw, type: scripted } ]\n");

        var (unknownCode, _, unknown) = await RunAsync("check-config", "--config", path);
        var (code, stdout, _) = await RunAsync(services => services.AddSingleton<ISaSourceType>(new ScriptedSourceType()), "check-config", "--config", path);

        Assert.Equal(2, unknownCode);
        Assert.Contains("unknown source type 'scripted'", unknown, StringComparison.Ordinal);
        Assert.Equal(0, code);
        Assert.Contains("valid (0 tunnel(s), 1 source(s))", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_an_invalid_configuration()
    {
        var (code, _, stderr) = await RunAsync("check-config", "--config", "/nonexistent/ipsec.yaml");

        Assert.Equal(2, code);
        Assert.StartsWith("/nonexistent/ipsec.yaml:1:1: cannot read configuration file", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_errors_exit_2_and_print_usage()
    {
        var (code, _, stderr) = await RunAsync("--listen");

        Assert.Equal(2, code);
        Assert.Contains("Usage:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_and_version_exit_0()
    {
        var (helpCode, help, _) = await RunAsync("--help");
        var (versionCode, version, _) = await RunAsync("--version");

        Assert.Equal((0, 0), (helpCode, versionCode));
        Assert.Contains("check-config --config FILE", help, StringComparison.Ordinal);
        Assert.Matches(@"^ipsec-exporter \d+\.\d+\.\d+", version);
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, args);

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(Action<IServiceCollection>? configureServices, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr, configureServices);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

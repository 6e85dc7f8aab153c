using System.Net;
using CsCheck;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;
using IpsecExporter.Web;

namespace IpsecExporter.Tests.Configuration;

/// <summary>
/// YAML that used to crash the process (an exception YamlDotNet throws without a position, a stack overflow, an endless
/// hash) is a FILE:LINE:COL error in either file, at start and on reload, and mutated YAML never gets further.
/// </summary>
public sealed class HostileYamlTests : IDisposable
{
    private const string ValidConfig = "site: { name: hq }\nsources:\n  - { name: gw, type: scripted }\ntunnels:\n  - { name: before, remote_gateway: 198.51.100.7, network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ] }\n";

    /// <summary>The three inputs of the issue, each after a valid first line so the file is otherwise plausible.</summary>
    public static readonly TheoryData<string, string, int, int, string> Hostile = new()
    {
        { "unclosed flow sequence", "a: [b\nc: d\n", 1, 4, "YAML syntax error: the flow sequence '[' opened here is never closed" },
        { "30,000 nested sequences", new string('[', 30_000), 1, 65, "YAML nesting deeper than 64 levels" },
        { "self-referencing alias as a key", "&a { *a : b }\n", 1, 6, "YAML alias *a refers to a node that contains it (a cycle)" },
    };

    private readonly TempDirectory _directory = new();

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Check_config_reports_a_position_and_exits_2_for_the_config_file(string what, string text, int line, int column, string message)
    {
        var path = _directory.Write("ipsec.yaml", text);

        var (code, stderr) = await CheckConfigAsync("--config", path);

        Assert.True(code == CliApp.InvalidInput, $"{what}: exit {code}");
        Assert.StartsWith($"{path}:{line}:{column}: {message}", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Check_config_reports_a_position_and_exits_2_for_the_web_config(string what, string text, int line, int column, string message)
    {
        var config = _directory.Write("ipsec.yaml", ValidConfig.Replace("scripted", "vici", StringComparison.Ordinal));
        var web = _directory.Write("web.yml", text);

        var (code, stderr) = await CheckConfigAsync("--config", config, "--web-config", web);

        Assert.True(code == CliApp.InvalidInput, $"{what}: exit {code}");
        Assert.StartsWith($"{web}:{line}:{column}: {message}", stderr, StringComparison.Ordinal);
    }

    /// <summary>Crashers the mutation test found: ArgumentException from YamlDotNet, ArgumentOutOfRangeException from a socket path.</summary>
    [Theory]
    [InlineData("? : hq\n", 2, 1, "YAML syntax error: a structure the YAML loader does not support")]
    [InlineData("site: !<:> hq\n", 1, 5, "YAML syntax error: invalid YAML after this point (Global tags must be valid URIs.")]
    [InlineData("site: !<> hq\n", 1, 5, "YAML syntax error: invalid YAML after this point (Tag value must not be empty.")]
    [InlineData("site: { name: hq }\nsources: [ { name: gw, type: vici, uri: \"unix:///var/run/charon[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[.vici\" } ]\n", 2, 41,
        "sources[0].uri: the socket path is longer than the 107 bytes a unix socket path may have")]
    public void Crashers_found_by_mutation_are_config_errors_with_a_position(string text, int line, int column, string message)
    {
        var error = Assert.Single(Assert.Throws<ConfigException>(() => new ConfigLoader(TestSources.Registry()).Parse("crasher.yaml", text)).Errors);

        Assert.StartsWith($"crasher.yaml:{line}:{column}: {message}", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_exporter_keeps_its_configuration_through_every_hostile_reload()
    {
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", ValidConfig);
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry);
        await using var running = app;
        using var http = new HttpClient { BaseAddress = baseAddress };
        var generation = 0;

        foreach (var (what, text, _, _, _) in Hostile.Select(row => ((string)row[0], (string)row[1], 0, 0, "")))
        {
            _directory.Write("ipsec.yaml", text);
            await Poll.UntilAsync(async () => (await http.GetStringAsync("metrics")).Contains("ipsec_exporter_config_last_reload_successful 0", StringComparison.Ordinal), TimeSpan.FromSeconds(20), $"the failed reload of the {what}");

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
            Assert.Contains("\"before\"", await http.GetStringAsync("api/tunnels"), StringComparison.Ordinal);

            // A valid file again proves the reload machinery itself survived.
            generation++;
            _directory.Write("ipsec.yaml", ValidConfig.Replace("name: before", $"name: after{generation}", StringComparison.Ordinal));
            await Poll.UntilAsync(async () => (await http.GetStringAsync("metrics")).Contains($"tunnel=\"after{generation}\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20), $"the valid reload after the {what}");
            _directory.Write("ipsec.yaml", ValidConfig);
            await Poll.UntilAsync(async () => (await http.GetStringAsync("api/tunnels")).Contains("\"before\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the original configuration back");
        }
    }

    [Fact]
    public void Mutated_yaml_is_a_config_error_or_a_config_and_never_hangs()
    {
        var loader = new ConfigLoader(TestSources.Registry());
        var seeds = Directory.GetFiles(Fixtures.Path("config"), "valid-*.yaml").Append(Repository.Path("config.example.yaml"))
            .Select(File.ReadAllText)
            .Append("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: $2y$10$X\nhttp_server_config:\n  headers: { X-Frame-Options: deny }\n")
            .ToArray();
        var path = Path.Combine(_directory.Path, "mutated.yaml");

        Mutations(seeds).Sample(text =>
        {
            var parse = Task.Run(() =>
            {
                ParseOrConfigError(path, () => loader.Parse(path, text));
                ParseOrConfigError(path, () => WebConfig.Parse(path, text));
            });
            Assert.True(parse.Wait(TimeSpan.FromSeconds(10)), "parsing took more than 10 s");
        }, iter: 3000);
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>A seed file with a few edits: YAML punctuation, anchors and aliases, indentation, deep nesting, cuts.</summary>
    private static Gen<string> Mutations(string[] seeds)
    {
        var fragment = Gen.OneOf(
            "[", "]", "{", "}", ":", ": ", ",", "- ", "? ", "&a ", "*a", "&b ", "*b ", "*a : x\n", "!!str ", "!local ", "|\n", ">-\n", "'", "\"", "\\",
            "# ", "%YAML 1.2\n---\n", "---\n", "...\n", "\n", "\n  ", "\n    - ", "\t", "  ", "\0", "\uFEFF", "\u2028", "@", "`", "~", "null", "99999999999999999999d",
            "0x", "-1", "1e400", new string('[', 200), new string('{', 70), "[a, [b, [c, [d]]]]", "<<: *a\n", "\ud800", "ns1.google.com:0", "::");
        var edit = Gen.Select(Gen.Double[0, 1], Gen.Int[0, 12], fragment);
        return Gen.Select(Gen.Int[0, seeds.Length - 1], edit.Array[1, 6], (seed, edits) =>
        {
            var text = seeds[seed];
            foreach (var (where, delete, insert) in edits)
            {
                var at = (int)(where * text.Length);
                text = string.Concat(text.AsSpan(0, at), insert, text.AsSpan(Math.Min(text.Length, at + delete)));
            }

            return text;
        });
    }

    private static void ParseOrConfigError(string path, Action parse)
    {
        try
        {
            parse();
        }
        catch (ConfigException e)
        {
            Assert.NotEmpty(e.Errors);
            Assert.All(e.Errors, error => Assert.True(error.File == path && error.Line >= 1 && error.Column >= 1, error.ToString()));
        }
    }

    private static async Task<(int Code, string Stderr)> CheckConfigAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["check-config", .. args], stdout, stderr);
        return (code, stderr.ToString());
    }
}

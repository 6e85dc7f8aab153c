using System.Net;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Tests.Support;
using IpsecExporter.Web;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Configuration;

/// <summary><c>--shard I/N</c> and <c>sharding:</c>: a replica owns the tunnels whose name hashes to its shard.</summary>
public sealed class ShardingTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(16)]
    public void Every_tunnel_is_owned_by_exactly_one_shard_and_the_shards_share_the_load(int count)
    {
        var names = Enumerable.Range(0, 2000).Select(i => $"branch-{i:D4}").Append("zürich-hq").Append("a").ToList();
        var shards = Enumerable.Range(0, count).Select(i => new ShardConfig(i, count)).ToList();

        foreach (var name in names)
        {
            Assert.Single(shards, s => s.Owns(name));
        }

        var expected = (double)names.Count / count;
        Assert.All(shards, s => Assert.InRange(names.Count(s.Owns), expected * 0.8, expected * 1.2));
    }

    [Theory]
    [InlineData("", 0xcbf29ce484222325)]
    [InlineData("a", 0xaf63dc4c8601ec8c)]
    [InlineData("foobar", 0x85944171f73967e8)]
    public void The_owner_is_fnv1a_64_of_the_name_so_every_process_and_version_agrees(string name, ulong fnv1a64)
    {
        foreach (var count in new[] { 2, 3, 5, 1000 })
        {
            Assert.Equal((int)(fnv1a64 % (ulong)count), ShardConfig.OwnerOf(name, count));
        }
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("2/3", 2, 3)]
    public void The_command_line_takes_I_of_N(string text, int index, int count)
    {
        Assert.Equal(new ShardConfig(index, count), CommandLine.Parse(["run", "--config", "x.yaml", "--shard", text]).Shard);
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("1/0")]
    [InlineData("-1/3")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void An_invalid_shard_on_the_command_line_is_a_usage_error(string text)
    {
        var e = Assert.Throws<UsageException>(() => CommandLine.Parse(["run", "--config", "x.yaml", "--shard", text]));

        Assert.Equal($"--shard: invalid shard '{text}' (expected I/N with 0 <= I < N, e.g. 0/3)", e.Message);
    }

    [Fact]
    public void The_shards_of_a_file_split_its_tunnels_and_keep_only_the_sources_their_tunnels_read()
    {
        var path = _directory.Write("ipsec.yaml", ManyTunnels(40));
        var all = new ConfigLoader(TestSources.Registry()).Load(path);
        var shards = Enumerable.Range(0, 3)
            .Select(i => new ConfigLoader(TestSources.Registry()) { ShardOverride = new ShardConfig(i, 3) }.Load(path))
            .ToList();

        Assert.Equal(all.Tunnels.Select(t => t.Name).Order(), shards.SelectMany(s => s.Tunnels).Select(t => t.Name).Order());
        Assert.All(shards, s =>
        {
            Assert.Equal(40, s.TunnelsInFile);
            Assert.NotEmpty(s.Tunnels);
            Assert.Equal(s.Tunnels.Select(t => t.Source).Distinct().Order(), s.Sources.Select(x => x.Name).Order());
        });
        // "rare" is read by one tunnel only: exactly one shard connects to it.
        Assert.Single(shards, s => s.Sources.Any(x => x.Name == "rare"));
    }

    [Fact]
    public async Task The_file_sets_the_shard_and_the_command_line_overrides_it()
    {
        var path = _directory.Write("ipsec.yaml", "sharding: 1/3\n" + ManyTunnels(40));

        var (fileCode, fileOut) = await CheckConfigAsync("--config", path);
        var (cliCode, cliOut) = await CheckConfigAsync("--config", path, "--shard", "2/4");

        var fromFile = new ConfigLoader(TestSources.Registry()).Load(path);
        Assert.Equal((0, 0), (fileCode, cliCode));
        Assert.Equal($"{path}: valid (shard 1/3: {fromFile.Tunnels.Count} of 40 tunnel(s), {fromFile.Sources.Count} source(s))", fileOut.Trim());
        Assert.StartsWith($"{path}: valid (shard 2/4: ", cliOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_serves_only_its_tunnels_and_its_status_page_says_which_shard_it_is()
    {
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", "sharding: 1/3\n" + ManyTunnels(12));
        var config = new ConfigLoader(registry).Load(path);
        var (app, baseAddress) = await InProcessExporter.StartAsync(config, registry);
        await using var running = app;
        using var http = new HttpClient { BaseAddress = baseAddress };

        var page = await http.GetStringAsync("/");
        var metrics = await http.GetStringAsync("/metrics");

        Assert.Contains($"<span id=\"shard\">shard 1/3: {config.Tunnels.Count} of the 12 tunnels in the configuration</span>", page, StringComparison.Ordinal);
        for (var i = 0; i < 12; i++)
        {
            var name = $"t{i:D2}";
            Assert.Equal(new ShardConfig(1, 3).Owns(name), metrics.Contains($"ipsec_tunnel_info{{tunnel=\"{name}\"", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Reloads_keep_the_command_line_shard()
    {
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", ManyTunnels(12));
        var shard = new ShardConfig(0, 2);
        var commandLine = new CommandLine(Command.Run, path, new IPEndPoint(IPAddress.Loopback, FreePorts.Loopback()), null, null, ReportFormat.Text) { Shard = shard };
        await using var app = ExporterHost.Build(commandLine, new ConfigLoader(registry) { ShardOverride = shard }.Load(path), null, services => services.AddSingleton(registry));
        var store = app.Services.GetRequiredService<ConfigStore>();

        Assert.Empty(store.Reload());

        Assert.Equal(shard, store.Current.Shard);
        Assert.All(store.Current.Tunnels, t => Assert.True(shard.Owns(t.Name)));
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Tunnels t00.. on sources gw and fw; the last one alone on source "rare".</summary>
    private static string ManyTunnels(int count)
    {
        var tunnels = Enumerable.Range(0, count).Select(i =>
            $"  - {{ name: t{i:D2}, source: {(i == count - 1 ? "rare" : i % 2 == 0 ? "gw" : "fw")}, remote_gateway: 198.51.100.{i + 1}, "
            + $"network_pairs: [ {{ local: 10.1.{i}.0/24, remote: 10.2.{i}.0/24 }} ] }}\n");
        // No charon behind these sockets: the sources are down, which sharding does not care about.
        return "site: { name: hq }\nsources:\n"
            + string.Concat(new[] { "gw", "fw", "rare" }.Select(s => $"  - {{ name: {s}, type: vici, uri: \"unix:///nonexistent/{s}.vici\" }}\n"))
            + "tunnels:\n"
            + string.Concat(tunnels);
    }

    private static async Task<(int Code, string Stdout)> CheckConfigAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["check-config", .. args], stdout, stderr);
        return (code, stdout.ToString() + stderr);
    }
}

using System.Net.Sockets;
using IpsecExporter.Configuration;
using IpsecExporter.Hosting;
using IpsecExporter.Web;

namespace IpsecExporter.Cli;

/// <summary>Dispatches the commands. Exit codes: 0 ok, 1 runtime error, 2 invalid configuration or usage.</summary>
public static class CliApp
{
    public const int Ok = 0;
    public const int RuntimeError = 1;
    public const int InvalidInput = 2;

    /// <summary>
    /// Tests pass <paramref name="configureServices"/> to add or replace services of <c>run</c>; the configuration is
    /// read with them too, so every command accepts the source types <c>run</c> would.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Action<IServiceCollection>? configureServices = null)
    {
        CommandLine commandLine;
        try
        {
            commandLine = CommandLine.Parse(args);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"ipsec-exporter: {e.Message}\n\n{CommandLine.Usage}");
            return InvalidInput;
        }

        switch (commandLine.Command)
        {
            case Command.Help:
                await stdout.WriteLineAsync(CommandLine.Usage);
                return Ok;
            case Command.Version:
                await stdout.WriteLineAsync($"ipsec-exporter {ExporterServices.Version}");
                return Ok;
        }

        if (commandLine.Command == Command.Healthcheck)
        {
            return await HealthcheckAsync(commandLine, stdout, stderr);
        }

        ExporterConfig config;
        WebConfig? webConfig = null;
        try
        {
            config = await LoadAsync(commandLine, configureServices);
            if (commandLine.WebConfigPath is not null)
            {
                webConfig = WebConfig.Load(commandLine.WebConfigPath);
            }
        }
        catch (ConfigException e)
        {
            await WriteErrorsAsync(e, stderr);
            return InvalidInput;
        }

        switch (commandLine.Command)
        {
            case Command.CheckConfig:
                await stdout.WriteLineAsync(config.Shard is null
                    ? $"{commandLine.ConfigPath}: valid ({config.Tunnels.Count} tunnel(s), {config.Sources.Count} source(s))"
                    : $"{commandLine.ConfigPath}: valid (shard {config.Shard}: {config.Tunnels.Count} of {config.TunnelsInFile} tunnel(s), {config.Sources.Count} source(s))");
                return Ok;
            case Command.Diagnose:
                return await DiagnoseCommand.RunAsync(commandLine, config, stdout, stderr);
        }

        try
        {
            var app = ExporterHost.Build(commandLine, config, webConfig, configureServices);
            // Taken before the run: the host disposes its services when it stops.
            var background = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            try
            {
                await app.RunAsync();
            }
            catch (OperationCanceledException) when (background.Any(s => s.ExecuteTask is { IsFaulted: true }))
            {
                // A service that fails while the host starts cancels the start: reported below like a later failure.
            }

            // A background service that threw stops the host (after logging why); that is not a clean exit.
            if (background.FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true }) is { } failed)
            {
                await stderr.WriteLineAsync($"ipsec-exporter: stopped because {failed.GetType().Name} failed: {failed.ExecuteTask!.Exception!.GetBaseException().Message}");
                return RuntimeError;
            }

            return Ok;
        }
        catch (IOException e)
        {
            // Typically the listen address is in use.
            await stderr.WriteLineAsync($"ipsec-exporter: {e.Message}");
            return RuntimeError;
        }
        catch (SocketException e)
        {
            // An address this host does not have, or a port this user may not bind.
            await stderr.WriteLineAsync($"ipsec-exporter: cannot listen on {commandLine.Listen}: {e.Message}");
            return RuntimeError;
        }
    }

    /// <summary>Reads the configuration with the loader and source types as the host registers them.</summary>
    private static async Task<ExporterConfig> LoadAsync(CommandLine commandLine, Action<IServiceCollection>? configureServices)
    {
        var services = new ServiceCollection().AddConfigLoader(commandLine.Shard);
        configureServices?.Invoke(services);
        await using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<ConfigLoader>().Load(commandLine.ConfigPath!);
    }

    /// <summary>Needs no exporter configuration: only where the exporter listens and its web config (TLS).</summary>
    private static async Task<int> HealthcheckAsync(CommandLine commandLine, TextWriter stdout, TextWriter stderr)
    {
        WebConfig? webConfig;
        try
        {
            webConfig = commandLine.WebConfigPath is null ? null : WebConfig.Load(commandLine.WebConfigPath);
        }
        catch (ConfigException e)
        {
            await WriteErrorsAsync(e, stderr);
            return InvalidInput;
        }

        return await HealthcheckCommand.RunAsync(commandLine, webConfig, stdout, stderr);
    }

    private static async Task WriteErrorsAsync(ConfigException e, TextWriter stderr)
    {
        foreach (var error in e.Errors)
        {
            await stderr.WriteLineAsync(error.ToString());
        }
    }
}

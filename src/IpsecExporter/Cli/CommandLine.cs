using IpsecExporter.Diagnosis;
using System.Net;

namespace IpsecExporter.Cli;

public enum Command
{
    Run,
    CheckConfig,
    Diagnose,
    Healthcheck,
    Help,
    Version,
}


/// <summary>The parsed command line. <see cref="Parse"/> throws <see cref="UsageException"/> on bad usage (exit code 2).</summary>
public sealed record CommandLine(Command Command, string? ConfigPath, IPEndPoint Listen, string? WebConfigPath, string? Tunnel, ReportFormat Format)
{
    public static readonly TimeSpan DefaultDiagnoseDuration = TimeSpan.FromSeconds(10);

    /// <summary>diagnose is a one-shot check; an hour is already longer than anyone waits at a terminal.</summary>
    public static readonly TimeSpan MaxDiagnoseDuration = TimeSpan.FromHours(1);

    /// <summary>How long <c>diagnose</c> observes before concluding.</summary>
    public TimeSpan Duration { get; init; } = DefaultDiagnoseDuration;

    public static readonly IPEndPoint DefaultListen = new(IPAddress.Any, 9478);

    public const string Usage = """
        ipsec-exporter: tells whether IPsec tunnels really work, not just whether Phase 1 was negotiated.

        Usage:
          ipsec-exporter [run] --config FILE [--listen ADDR:PORT] [--web-config FILE]
          ipsec-exporter check-config --config FILE
          ipsec-exporter diagnose --config FILE [--tunnel NAME] [--format text|markdown|json] [--duration 10s]
          ipsec-exporter healthcheck [--listen ADDR:PORT] [--web-config FILE]
          ipsec-exporter --help | --version

        Options:
          --config FILE       YAML configuration (see docs/CONFIGURATION.md)
          --listen ADDR:PORT  address to serve /metrics and the status page on [default: 0.0.0.0:9478];
                              healthcheck asks /healthz there (a wildcard address means the loopback address)
          --web-config FILE   exporter-toolkit web config: TLS (tls_server_config) and basic auth (basic_auth_users)
          --tunnel NAME       diagnose only this tunnel
          --format FORMAT     diagnose output: text, markdown or json [default: text]
          --duration DURATION how long diagnose observes traffic and pings before concluding [default: 10s]

        Exit codes: 0 ok, 1 runtime error, 2 invalid configuration or usage.
        """;

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var command = Command.Run;
        string? config = null, webConfig = null, tunnel = null;
        var listen = DefaultListen;
        var format = ReportFormat.Text;
        var duration = DefaultDiagnoseDuration;
        var index = 0;
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            command = args[0] switch
            {
                "run" => Command.Run,
                "check-config" => Command.CheckConfig,
                "diagnose" => Command.Diagnose,
                "healthcheck" => Command.Healthcheck,
                "help" => Command.Help,
                "version" => Command.Version,
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
            index = 1;
        }

        for (; index < args.Count; index++)
        {
            var arg = args[index];
            var (name, inline) = arg.Split('=', 2) is [var n, var v] && n.StartsWith("--", StringComparison.Ordinal) ? (n, v) : (arg, null);
            switch (name)
            {
                case "-h" or "--help":
                    return new CommandLine(Command.Help, null, listen, null, null, format);
                case "--version":
                    return new CommandLine(Command.Version, null, listen, null, null, format);
                case "--config" or "-c":
                    config = Value();
                    break;
                case "--listen" or "--web.listen-address":
                    listen = ParseListen(Value());
                    break;
                case "--web-config" or "--web.config.file":
                    webConfig = Value();
                    break;
                case "--tunnel":
                    tunnel = Value();
                    break;
                case "--format":
                    var text = Value();
                    format = text switch
                    {
                        "text" => ReportFormat.Text,
                        "markdown" or "md" => ReportFormat.Markdown,
                        "json" => ReportFormat.Json,
                        _ => throw new UsageException($"--format: unknown format '{text}' (expected text, markdown or json)"),
                    };
                    break;
                case "--duration":
                    var durationText = Value();
                    if (!Configuration.DurationParser.TryParse(durationText, out duration) || duration < TimeSpan.FromSeconds(1) || duration > MaxDiagnoseDuration)
                    {
                        throw new UsageException($"--duration: invalid duration '{durationText}' (1s to 1h, e.g. 10s or 1m)");
                    }

                    break;
                default:
                    throw new UsageException($"unknown option '{arg}'");
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (index + 1 >= args.Count || args[index + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{name} needs a value");
                }

                return args[++index];
            }
        }

        if (command is Command.Run or Command.CheckConfig or Command.Diagnose && config is null)
        {
            throw new UsageException("--config FILE is required");
        }

        return new CommandLine(command, config, listen, webConfig, tunnel, format) { Duration = duration };
    }

    private static IPEndPoint ParseListen(string text)
    {
        // ":9478" means every address, like Prometheus exporters accept.
        var candidate = text.StartsWith(':') ? "0.0.0.0" + text : text;
        if (IPEndPoint.TryParse(candidate, out var endpoint) && endpoint.Port > 0 && candidate.Contains(':', StringComparison.Ordinal))
        {
            return endpoint;
        }

        var colon = candidate.LastIndexOf(':');
        if (colon > 0 && candidate[..colon] == "localhost" && ushort.TryParse(candidate[(colon + 1)..], out var port) && port > 0)
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        throw new UsageException($"--listen: invalid address '{text}' (expected ADDR:PORT, e.g. 0.0.0.0:9478 or [::]:9478)");
    }
}

public sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

using IpsecExporter.Diagnosis;
using System.Net;
using IpsecExporter.Cli;

namespace IpsecExporter.Tests.Cli;

public sealed class CommandLineTests
{
    [Fact]
    public void Run_is_the_default_command_and_listens_on_9478()
    {
        var commandLine = CommandLine.Parse(["--config", "c.yaml"]);

        Assert.Equal(Command.Run, commandLine.Command);
        Assert.Equal("c.yaml", commandLine.ConfigPath);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 9478), commandLine.Listen);
    }

    [Theory]
    [InlineData("127.0.0.1:9100", "127.0.0.1", 9100)]
    [InlineData(":9100", "0.0.0.0", 9100)]
    [InlineData("[::1]:9100", "::1", 9100)]
    [InlineData("localhost:9100", "127.0.0.1", 9100)]
    public void Listen_addresses_parse(string text, string address, int port)
    {
        var commandLine = CommandLine.Parse(["run", "--config", "c.yaml", "--listen", text]);

        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), commandLine.Listen);
    }

    [Fact]
    public void Diagnose_takes_tunnel_and_format()
    {
        var commandLine = CommandLine.Parse(["diagnose", "--config=c.yaml", "--tunnel", "b", "--format", "markdown"]);

        Assert.Equal((Command.Diagnose, "c.yaml", "b", ReportFormat.Markdown), (commandLine.Command, commandLine.ConfigPath, commandLine.Tunnel, commandLine.Format));
    }

    [Theory]
    [InlineData(new[] { "run" }, "--config FILE is required")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "--config", "c.yaml", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--config" }, "--config needs a value")]
    [InlineData(new[] { "--config", "c.yaml", "--listen", "9478" }, "--listen: invalid address '9478'")]
    [InlineData(new[] { "diagnose", "--config", "c.yaml", "--format", "pdf" }, "--format: unknown format 'pdf'")]
    public void Bad_usage_is_explained(string[] args, string message)
    {
        var exception = Assert.Throws<UsageException>(() => CommandLine.Parse(args));

        Assert.StartsWith(message, exception.Message, StringComparison.Ordinal);
    }
}

using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IpsecExporter.Tests.Support;

/// <summary>A real Kestrel on 127.0.0.1 and a free port, over HTTPS with the given certificate or plain HTTP.</summary>
public sealed class TlsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TlsTestServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>Headers of the requests received, in order (copied: Kestrel reuses its header objects).</summary>
    public List<Dictionary<string, string>> Requests { get; } = [];

    public static async Task<TlsTestServer> StartAsync(string? certFile, string? keyFile, RequestDelegate handler)
    {
        var port = FreePorts.Loopback();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            if (certFile is not null)
            {
                listen.UseHttps(X509Certificate2.CreateFromPemFile(certFile, keyFile));
            }
        }));
        var app = builder.Build();
        TlsTestServer? server = null;
        app.Run(context =>
        {
            lock (server!.Requests)
            {
                server.Requests.Add(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            }

            return handler(context);
        });
        server = new TlsTestServer(app, new Uri($"{(certFile is null ? "http" : "https")}://127.0.0.1:{port}/"));
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

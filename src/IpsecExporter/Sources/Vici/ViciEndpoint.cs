using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace IpsecExporter.Sources.Vici;

/// <summary>Where charon's VICI socket is: <c>unix:///path</c> or <c>tcp://host:port</c> (the forms charon accepts).</summary>
public sealed record ViciEndpoint
{
    private ViciEndpoint(string text, EndPoint endPoint, string canonical)
    {
        Text = text;
        EndPoint = endPoint;
        Canonical = canonical;
    }

    public const int MaxUnixPathBytes = 107;

    public string Text { get; }

    public EndPoint EndPoint { get; }

    /// <summary>
    /// One spelling per socket, so the tracker keeps counting the same charon however the <c>uri</c> is written: a unix
    /// path made absolute with its existing directory symlinks resolved (<c>/var/run</c> is <c>/run</c>), a TCP host in
    /// lower case or an IP address in its standard form.
    /// </summary>
    public string Canonical { get; }

    public override string ToString() => Text;

    /// <summary>Parses a <c>uri</c> that was validated before; throws <see cref="ArgumentException"/> when it is not valid.</summary>
    public static ViciEndpoint Parse(string text) =>
        TryParse(text, out var endpoint, out var error) ? endpoint! : throw new ArgumentException(error, nameof(text));

    /// <summary>Parses a source <c>uri</c>; on failure <paramref name="error"/> says what is wrong and what is expected.</summary>
    public static bool TryParse(string text, out ViciEndpoint? endpoint, out string error)
    {
        endpoint = null;
        error = "";
        const string Expected = "expected unix:///path/to/charon.vici or tcp://host:port";
        if (text.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = text["unix://".Length..];
            if (!path.StartsWith('/'))
            {
                error = $"'{text}' has no absolute socket path ({Expected})";
                return false;
            }

            // sun_path holds 108 bytes with the terminating NUL; a longer path cannot even be tried.
            if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxUnixPathBytes)
            {
                error = $"the socket path is longer than the {MaxUnixPathBytes} bytes a unix socket path may have";
                return false;
            }

            endpoint = new ViciEndpoint(text, new UnixDomainSocketEndPoint(path), "unix://" + ResolveDirectories(path));
            return true;
        }

        if (text.StartsWith("tcp://", StringComparison.Ordinal))
        {
            var hostPort = text["tcp://".Length..];
            var colon = hostPort.LastIndexOf(':');
            var host = colon > 0 ? hostPort[..colon] : "";
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            if (host.Length == 0 || host.Contains('/', StringComparison.Ordinal) || !int.TryParse(hostPort[(colon + 1)..], out var port) || port is < 1 or > 65535)
            {
                error = $"'{Configuration.YamlMap.Quotable(text)}' is not tcp://host:port with a port 1-65535 ({Expected})";
                return false;
            }

            var canonicalHost = IPAddress.TryParse(host, out var address)
                ? (address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())
                : host.ToLowerInvariant().TrimEnd('.');
            endpoint = new ViciEndpoint(
                text, address is not null ? new IPEndPoint(address, port) : new DnsEndPoint(host, port), $"tcp://{canonicalHost}:{port.ToString(CultureInfo.InvariantCulture)}");
            return true;
        }

        error = $"unsupported VICI uri '{Configuration.YamlMap.Quotable(text)}' ({Expected})";
        return false;
    }

    /// <summary>The absolute path with every existing directory symlink on the way resolved (the socket itself may not exist yet).</summary>
    private static string ResolveDirectories(string path)
    {
        var full = Path.GetFullPath(path);
        var resolved = "/";
        var parts = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length - 1; i++)
        {
            resolved = Path.Combine(resolved, parts[i]);
            try
            {
                if (new DirectoryInfo(resolved).ResolveLinkTarget(returnFinalTarget: true) is { } target)
                {
                    resolved = target.FullName;
                }
            }
            catch (IOException)
            {
                // A link loop or an unreadable directory: keep the path as written from here on.
            }
        }

        return Path.Combine(resolved, parts.Length > 0 ? parts[^1] : "");
    }

    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(EndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Socket errors in the words an operator acts on (the kernel's text for a missing unix socket misleads).</summary>
    public static string Explain(Exception e) => e is System.Net.Sockets.SocketException socket
        ? socket.SocketErrorCode switch
        {
            // What .NET reports for a unix socket path that does not exist (ENOENT).
            System.Net.Sockets.SocketError.AddressNotAvailable => "the socket does not exist (is charon running with the vici plugin loaded?)",
            System.Net.Sockets.SocketError.ConnectionRefused => "connection refused (is charon running with the vici plugin loaded?)",
            System.Net.Sockets.SocketError.AccessDenied => "permission denied (the exporter needs read/write access to the VICI socket)",
            _ => e.Message,
        }
        : e.Message;
}

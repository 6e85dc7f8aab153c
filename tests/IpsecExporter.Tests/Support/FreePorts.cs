using System.Net;
using System.Net.Sockets;

namespace IpsecExporter.Tests.Support;

public static class FreePorts
{
    /// <summary>A port free for both UDP and TCP on 127.0.0.1 right now (a daemon started next may still lose a race: callers retry).</summary>
    public static int Loopback()
    {
        while (true)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken for TCP: try another.
            }
        }
    }
}

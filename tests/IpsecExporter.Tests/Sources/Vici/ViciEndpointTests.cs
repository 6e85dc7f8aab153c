using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources.Vici;

public sealed class ViciEndpointTests
{
    [Theory]
    [InlineData("tcp://LocalHost:4502", "tcp://localhost:4502")]
    [InlineData("tcp://gw.example.:4502", "tcp://gw.example:4502")]
    [InlineData("tcp://[0:0:0:0:0:0:0:1]:4502", "tcp://[::1]:4502")]
    [InlineData("tcp://127.0.0.1:04502", "tcp://127.0.0.1:4502")]
    [InlineData("unix:///nonexistent-dir/./sub/../charon.vici", "unix:///nonexistent-dir/charon.vici")]
    public void Two_spellings_of_one_socket_have_one_canonical_form(string uri, string canonical) =>
        Assert.Equal(canonical, ViciEndpoint.Parse(uri).Canonical);

    [Fact]
    public void A_symlinked_socket_directory_resolves_to_its_target()
    {
        using var directory = new TempDirectory();
        var real = Directory.CreateDirectory(Path.Combine(directory.Path, "run")).FullName;
        var linked = Path.Combine(directory.Path, "var-run");
        Directory.CreateSymbolicLink(linked, real);

        Assert.Equal($"unix://{real}/charon.vici", ViciEndpoint.Parse($"unix://{linked}/charon.vici").Canonical);
        Assert.Equal(new ViciSourceOptions($"unix://{linked}/charon.vici").Endpoint, new ViciSourceOptions($"unix://{real}//charon.vici").Endpoint);
    }
}

#:project ../src/IpsecExporter/IpsecExporter.csproj
// Records what a real charon sends over VICI, byte for byte, for the golden tests in
// tests/IpsecExporter.Tests/Fixtures/vici/. Driven by scripts/record-vici-fixtures.sh; uses the exporter's own
// client so the recorded exchange is exactly the one the exporter makes.
//   dotnet run scripts/record-vici-fixture.cs -- collect URI FILE        version, stats, list-sas, list-conns
//   dotnet run scripts/record-vici-fixture.cs -- events URI FILE SECONDS  events after registering (READY on stdout)
using IpsecExporter.Sources.Vici;

var (mode, uri, file) = (args[0], args[1], args[2]);
var recorded = new MemoryStream();
var stream = new TeeStream(await ViciEndpoint.Parse(uri).ConnectAsync(CancellationToken.None), recorded);
await using var connection = new ViciConnection(stream, TimeProvider.System, TimeSpan.FromSeconds(10));
if (mode == "collect")
{
    var version = await connection.CallAsync("version", null, CancellationToken.None);
    await ViciSaSource.QueryAsync(connection, version, null, null, TimeProvider.System, CancellationToken.None);
}
else
{
    foreach (var name in ViciEventListener.Events)
    {
        await connection.RegisterAsync(name, CancellationToken.None);
    }

    recorded.SetLength(0);
    Console.WriteLine("READY");
    using var until = new CancellationTokenSource(TimeSpan.FromSeconds(double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)));
    try
    {
        while (true)
        {
            var packet = await connection.ReadEventAsync(until.Token);
            Console.Error.WriteLine($"event {packet.Name}");
        }
    }
    catch (OperationCanceledException)
    {
    }
}

File.WriteAllBytes(file, recorded.ToArray());

/// <summary>Passes everything through and keeps a copy of what was read.</summary>
internal sealed class TeeStream(Stream inner, Stream copy) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        copy.Write(buffer.Span[..read]);
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

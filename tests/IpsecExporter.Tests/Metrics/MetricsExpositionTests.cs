using System.IO.Pipelines;
using System.Text;
using IpsecExporter.Metrics;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Metrics;

/// <summary>A scrape is streamed: written to the response in chunks as they fill, the same bytes as rendered whole.</summary>
public sealed class MetricsExpositionTests
{
    [Theory]
    [InlineData(MetricsFormat.PrometheusText)]
    [InlineData(MetricsFormat.OpenMetrics)]
    public async Task A_large_exposition_reaches_the_response_in_chunks_of_about_ChunkBytes(MetricsFormat format)
    {
        var exposition = new MetricsExposition(new ExporterMetrics("test"), [new ManySeries(20_000)]);
        var body = new FlushRecordingStream();
        var pipe = PipeWriter.Create(body);

        await exposition.RenderAsync(pipe, format);
        await pipe.CompleteAsync();

        var whole = await exposition.RenderAsync(format);
        // Only the process_* values of the registry may differ between the two renderings.
        Assert.Equal(Tail(whole), Tail(Encoding.UTF8.GetString(body.ToArray())));
        Assert.True(whole.Length > 8 * MetricsWriter.ChunkBytes, $"the test needs several chunks, rendered {whole.Length} bytes");
        // Each flush sends what had filled up: one chunk and at most the series that crossed its end.
        Assert.True(body.Flushes.Count >= whole.Length / MetricsWriter.ChunkBytes, $"{body.Flushes.Count} flushes");
        Assert.All(body.Flushes, flushed => Assert.InRange(flushed, 1, MetricsWriter.ChunkBytes + 100));
    }

    private static string Tail(string text) => text[text.IndexOf("# HELP test_many", StringComparison.Ordinal)..];

    /// <summary>Keeps what it is given and the number of bytes between flushes.</summary>
    private sealed class FlushRecordingStream : MemoryStream
    {
        private long _flushedUpTo;

        public List<long> Flushes { get; } = [];

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            if (Length > _flushedUpTo)
            {
                Flushes.Add(Length - _flushedUpTo);
                _flushedUpTo = Length;
            }

            return Task.CompletedTask;
        }
    }
}

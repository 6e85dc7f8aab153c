using BenchmarkDotNet.Running;

// Micro-benchmarks of the collection path (docs/PERFORMANCE.md, "Micro-benchmarks"), e.g.
//   dotnet run -c Release --project bench/IpsecExporter.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(IpsecExporter.Benchmarks.HubModel).Assembly).Run(args);

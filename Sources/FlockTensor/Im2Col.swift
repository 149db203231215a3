/// Unfolds NCHW image patches into a matrix and folds them back: the data movement of a
/// convolution as one sgemm over the whole batch.
///
/// Layout: `columns` is (C·kh·kw, B·OH·OW) row-major; row `(c·kh + i)·kw + j` holds, for
/// every sample and output pixel, the input pixel that kernel tap (i, j) of channel c
/// reads (zero where it falls in the padding). Rows of one channel group are contiguous,
/// so a grouped convolution is one sgemm per group on a block of rows.
enum Im2Col {
    /// x (B, C, H, W) → columns (C·kh·kw, B·OH·OW).
    static func unfold(_ x: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                       into columns: UnsafeMutablePointer<Float>) {
        forEachTapPlane(batch: batch, geometry: g) { tap, rows, cols, columnOffset, imageOffset in
            unfoldPlane(x + imageOffset, geometry: g, tap: tap, rows: rows, cols: cols, into: columns + columnOffset)
        }
    }

    /// One sample's plane of one (channel, tap) row: OH·OW values.
    @inline(__always)
    private static func unfoldPlane(_ image: UnsafePointer<Float>, geometry g: WindowGeometry, tap: (Int, Int),
                                    rows: Range<Int>, cols: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let ow = g.outputWidth, sw = g.strideWidth
        for oh in 0..<g.outputHeight {
            let line = out + oh * ow
            guard rows.contains(oh) else { line.update(repeating: 0, count: ow); continue }
            let source = image + (oh * g.strideHeight - g.padTop + tap.0) * g.width - g.padLeft + tap.1
            if cols.lowerBound > 0 { line.update(repeating: 0, count: cols.lowerBound) }
            if sw == 1 {
                (line + cols.lowerBound).update(from: source + cols.lowerBound, count: cols.count)
            } else {
                for o in cols { line[o] = source[o * sw] }
            }
            if cols.upperBound < ow { (line + cols.upperBound).update(repeating: 0, count: ow - cols.upperBound) }
        }
    }

    /// columns (C·kh·kw, B·OH·OW) → dx (B, C, H, W), adding every patch entry back onto
    /// the pixel it came from (`dx` must start zeroed; padding entries are dropped).
    static func fold(_ columns: UnsafePointer<Float>, batch: Int, geometry g: WindowGeometry,
                     into dx: UnsafeMutablePointer<Float>) {
        let ow = g.outputWidth, sw = g.strideWidth
        forEachTapPlane(batch: batch, geometry: g) { tap, rows, cols, columnOffset, imageOffset in
            let source = columns + columnOffset, image = dx + imageOffset
            for oh in rows {
                let target = image + (oh * g.strideHeight - g.padTop + tap.0) * g.width - g.padLeft + tap.1
                let line = source + oh * ow
                for o in cols { target[o * sw] += line[o] }
            }
        }
    }

    /// Calls `body` for every (channel, kernel tap, sample) with the tap, the output rows
    /// and columns whose input pixel lies inside the image, the offset of that sample's
    /// plane in `columns` and the offset of its channel plane in the image.
    @inline(__always)
    private static func forEachTapPlane(batch: Int, geometry g: WindowGeometry,
                                        _ body: (_ tap: (Int, Int), _ rows: Range<Int>, _ cols: Range<Int>,
                                                 _ columnOffset: Int, _ imageOffset: Int) -> Void) {
        let plane = g.outputPlane, rowLength = batch * plane
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                let rows = g.validOutputRange(tap: i, stride: g.strideHeight, pad: g.padTop, inputSize: g.height, outputSize: g.outputHeight)
                for j in 0..<g.kernelWidth {
                    let cols = g.validOutputRange(tap: j, stride: g.strideWidth, pad: g.padLeft, inputSize: g.width, outputSize: g.outputWidth)
                    let row = ((c * g.kernelHeight + i) * g.kernelWidth + j) * rowLength
                    for b in 0..<batch {
                        body((i, j), rows, cols, row + b * plane, (b * g.channels + c) * g.inputPlane)
                    }
                }
            }
        }
    }
}

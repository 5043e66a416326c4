package wire

// NewReaderSize makes a Reader with a buffer of size bytes, so that tests
// can make it grow and shrink with small frames.
var NewReaderSize = newReaderSize

"""Every idea on the learning path as small, readable NumPy code, in the order the path teaches it.

Each module implements one idea from its paper, with the equations in its
docstring and a shape comment on every line that changes a shape. Everything
runs in float32 and float64 (float32 in gives float32 out; mixing the two in one
call is an error, not a silent promotion). The tests in ``tests/runnable/`` check
each module's properties and compare it with PyTorch.

Before the Transformer (topics ``embeddings``, ``rnn``, ``lstm``, ``seq2seq``, ``attention``):

    embeddings          word2vec skip-gram with negative sampling, cosine nearest neighbours
                        (Mikolov et al. 2013); ``python -m runnable.embeddings``
    rnn                 the Elman RNN: cell, layer over a sequence, bidirectional and stacked layers
                        (Elman 1990; Schuster & Paliwal 1997)
    lstm                LSTM cell and layer, weights laid out as in ``nn.LSTM`` (Hochreiter & Schmidhuber 1997)
    gru                 GRU cell and layer, weights laid out as in ``nn.GRU`` (Cho et al. 2014)
    seq2seq             RNN encoder-decoder with greedy decoding (Sutskever et al. 2014; Cho et al. 2014)
    seq2seq_attention   additive and multiplicative attention for seq2seq, attention decoder
                        (Bahdanau et al. 2015; Luong et al. 2015)
    seq2seq_train       backpropagation through time for the attention model; it learns to reverse
                        sequences and its attention weights show the alignment (Werbos 1990);
                        ``python -m runnable.seq2seq_train``

The Transformer (topics ``self-attention``, ``positional-encoding``, ``transformer``):

    attention           scaled dot-product and multi-head attention with masks, as written in
                        Vaswani et al. 2017 (the version the site shows)
    fast_attention      the same attention rearranged for speed and memory (in place, query
                        chunks, heads in threads), tested equal to ``attention``
    positional          sinusoidal positional encoding
    layers              layer normalization, the position-wise feed-forward network, ReLU and GELU
    transformer         encoder and decoder layers, the full encoder-decoder model, greedy generation
    backward            hand-written backward passes for all of the above
    adam                the Adam optimizer (Kingma & Ba 2015)
    train_toy           a small Transformer learns to reverse sequences; ``python -m runnable.train_toy``

Today's models (topics on tokenizers, decoder-only models, inference, positions, fine-tuning):

    bpe                 byte-level BPE: train merges, encode, decode (Sennrich et al. 2016; GPT-2)
    rope                rotary position embeddings (Su et al. 2021)
    alibi               attention with linear biases (Press et al. 2022)
    gpt                 a decoder-only Transformer in GPT-2's layout (Radford et al. 2018, 2019),
                        forward, KV cache and hand-written backward; positions learned, RoPE or ALiBi
    generate            decoding: greedy, temperature, top-k, top-p (Holtzman et al. 2020) with the
                        KV cache; beam search for the encoder-decoder Transformer
    train_gpt           the small GPT learns the shipped corpus with our BPE and Adam;
                        ``python -m runnable.train_gpt``
    lora                low-rank adapters for fine-tuning a trained GPT (Hu et al. 2021); the demo
                        adapts it from one play to another, ``python -m runnable.lora``

Conventions shared by every module:

* Arguments go data first, then weights, then settings:
  ``f(inputs..., params, cfg, *, options)``, e.g. ``encode(src, params, cfg)``,
  ``seq2seq_logits(src, tgt_in, params)``, ``loss_and_grads(src, tgt_in, tgt_out, params, cfg)``.
  Initializers take the sizes, then the generator, then the dtype:
  ``init_x(sizes..., rng, dtype=np.float64)``.
* Masks are boolean, True = may attend (see ``runnable.attention``).
* Token ids are integers inside the vocabulary; anything else is an error.

``_common`` holds the few helpers several modules share (the input checks, a
stable softmax, a stable sigmoid); ``blas`` controls NumPy's OpenBLAS threads.
NumPy is the only dependency; PyTorch is used by the tests alone, as an
independent reference.
"""

"""练一练 / Your turn: which lines of each lesson become an exercise, and which tests check it.

One table, so the lesson files stay clean (no markers in them). A blank is found by the text its
first statement starts with (``at``, searched after the previous blank):

- ``at`` names a ``class``/``def``/``for``/``with`` statement and ``until`` is None: the body
  of that statement is cut (a class keeps its docstring);
- otherwise the statements from ``at`` to the one starting with ``until`` (in the same block;
  just the one statement when ``until`` is None) are cut.

``zh``/``en`` say what the video does there, never the answer; ``hint`` gives the first step.
``checks`` are pytest node ids of the lesson's own tests, with what each one asks (zh, en).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Blank:
    at: str
    zh: str
    en: str
    hint: str
    until: str | None = None


@dataclass(frozen=True)
class Exercise:
    lesson: str
    part: str
    blanks: tuple[Blank, ...]
    checks: tuple[tuple[str, str, str], ...]


NN = "tests/test_nn_blocks.py::"
DATA = "tests/test_data_lessons.py::"
IO = "tests/test_models_io.py::"
TRAIN = "tests/test_training.py::"

EXERCISES: tuple[Exercise, ...] = (
    Exercise("06_read_data", "P6-P7", (
        Blank("self.root_dir = root_dir", until="self.img_path = os.listdir(self.path)",
              zh="MyData.__init__：记下 root_dir 和 label_dir，用 os.path.join 拼出文件夹 self.path，"
                 "再用 os.listdir 列出里面的图片名 self.img_path",
              en="MyData.__init__: keep root_dir and label_dir, join them into the folder "
                 "self.path with os.path.join, list its picture names with os.listdir as "
                 "self.img_path",
              hint="self.root_dir = root_dir"),
        Blank("def __getitem__",
              zh="__getitem__：第 idx 个图片名，拼出它的路径，用 Image.open 打开；label 就是文件夹名；返回 img, label",
              en="__getitem__: the idx-th picture name, its path, opened with Image.open; the "
                 "label is the folder's name; return img, label",
              hint="img_name = self.img_path[idx]"),
        Blank("def __len__",
              zh="__len__：有多少张图片", en="__len__: how many pictures there are",
              hint="return len("),
    ), (
        (DATA + "test_06_on_the_quick_stand_in",
         "蚂蚁和蜜蜂的数量要对，第一只蜜蜂紧跟在最后一只蚂蚁后面",
         "the ant and bee counts should be right, the first bee right after the last ant"),
    )),
    Exercise("08_tensorboard", "P8-P9", (
        Blank("writer = SummaryWriter(",
              zh="创建 SummaryWriter，写到 fresh_log_dir(__file__, args.log_dir)（视频里是 \"logs\"）",
              en="make the SummaryWriter, writing to fresh_log_dir(__file__, args.log_dir) (the "
                 "video: \"logs\")",
              hint="writer = SummaryWriter("),
        Blank("img_PIL = Image.open(image_path)", until="img_array = np.array(img_PIL)",
              zh="用 PIL 打开 image_path，转成 RGB，再变成 numpy 数组 img_array",
              en="open image_path with PIL, convert it to RGB, turn it into the numpy array "
                 "img_array",
              hint="img_PIL = Image.open(image_path)"),
        Blank('writer.add_image("train", img_array',
              zh="把 img_array 写到标签 \"train\" 的第 1 步；numpy 图片是 高x宽x通道，要说明 dataformats",
              en="write img_array under \"train\" at step 1; a numpy picture is height x width "
                 "x channels, so say dataformats",
              hint='writer.add_image("train", img_array, 1,'),
        Blank("for i in range(SCALAR_STEPS)",
              zh="每一步 i 用 add_scalar 写一个点到标签 \"y=2x\"（课程文件最后写的是 3*i）",
              en="at each step i write one point under \"y=2x\" with add_scalar (the course's "
                 "file ends with 3*i)",
              hint='writer.add_scalar("y=2x",'),
    ), (
        (DATA + "test_08_writes_every_kind_of_summary",
         "应该写出图片 \"train\"（第 1、2 步）和 \"y=2x\" 的每一个点",
         "the picture \"train\" (steps 1 and 2) and every point of \"y=2x\" should be written"),
    )),
    Exercise("10_transforms", "P10-P11", (
        Blank("tensor_trans = ", until="tensor_img = ",
              zh="用 transforms.ToTensor 把 PIL 图片 img 变成 tensor：先创建工具 tensor_trans，再用它得到 tensor_img",
              en="turn the PIL picture img into a tensor with transforms.ToTensor: first make the "
                 "tool tensor_trans, then use it to get tensor_img",
              hint="tensor_trans = transforms.ToTensor()"),
        Blank('writer.add_image("Tensor_img"',
              zh="把 tensor_img 写进 TensorBoard，标签是 \"Tensor_img\"",
              en="write tensor_img to TensorBoard under the tag \"Tensor_img\"",
              hint="writer.add_image("),
    ), (
        (DATA + "test_10_totensor_and_the_opencv_colour_swap",
         "ToTensor 应该给出 [3, 512, 768] 的 float tensor，并写出 \"Tensor_img\"",
         "ToTensor should give a [3, 512, 768] float tensor, and \"Tensor_img\" be written"),
    )),
    Exercise("12_useful_transforms", "P12-P13", (
        Blank("class Person",
              zh="写 __call__(self, name) 和 hello(self, name)：都打印问候并返回它（看 docstring 和测试里的文字）",
              en="write __call__(self, name) and hello(self, name): each prints its greeting and "
                 "returns it (\"__call__ Hello zhangsan\", \"hello lisi\")",
              hint="def __call__(self, name):"),
        Blank("trans_totensor = ", until='writer.add_image("ToTensor"',
              zh="ToTensor：创建 trans_totensor，得到 img_tensor，写到 \"ToTensor\"",
              en="ToTensor: make trans_totensor, get img_tensor, write it under \"ToTensor\"",
              hint="trans_totensor = transforms.ToTensor()"),
        Blank("trans_norm = transforms.Normalize([0.5", until="img_norm = trans_norm(img_tensor)",
              zh="Normalize：均值和标准差都是 [0.5, 0.5, 0.5]，把 [0,1] 变成 [-1,1]，得到 img_norm",
              en="Normalize with mean and std [0.5, 0.5, 0.5] ([0,1] becomes [-1,1]): img_norm",
              hint="trans_norm = transforms.Normalize("),
        Blank("trans_resize = ", until="img_resize = trans_totensor(img_resize)",
              zh="Resize 成 (512, 512)：先 resize PIL 图片，再用 trans_totensor 变成 tensor，都叫 img_resize",
              en="Resize to (512, 512): resize the PIL picture, then ToTensor it; both called "
                 "img_resize",
              hint="trans_resize = transforms.Resize((512, 512))"),
        Blank("trans_resize_2 = ", until="img_resize_2 = ",
              zh="Compose：Resize(512)（短边变 512）再 ToTensor，一步得到 img_resize_2",
              en="Compose Resize(512) (the shorter side becomes 512) and ToTensor: img_resize_2 "
                 "in one call",
              hint="trans_resize_2 = transforms.Resize(512)"),
        Blank("trans_random = ", until="trans_compose_2 = ",
              zh="RandomCrop(size) 和 ToTensor 组成 trans_compose_2",
              en="RandomCrop(size) then ToTensor, composed as trans_compose_2",
              hint="trans_random = transforms.RandomCrop("),
    ), (
        (DATA + "test_12_normalize_arithmetic_resize_compose_randomcrop",
         "Normalize 应该算出 (x - mean) / std，Resize/Compose/RandomCrop 的形状要对",
         "Normalize should compute (x - mean) / std; Resize, Compose and RandomCrop give the "
         "right shapes"),
    )),
    Exercise("14_dataset_transform", "P14", (
        Blank("dataset_transform = ",
              zh="用 torchvision.transforms.Compose 组合一个 ToTensor，叫 dataset_transform",
              en="dataset_transform: torchvision.transforms.Compose of one ToTensor",
              hint="dataset_transform = torchvision.transforms.Compose(["),
        Blank("train_set = ", until="test_set = ",
              zh="训练集和测试集：CIFAR10(root=args.data_root, train=..., transform=dataset_transform, download=True)",
              en="the train and test sets: CIFAR10 with root=args.data_root, train=True/False, "
                 "transform=dataset_transform, download=True",
              hint="train_set = CIFAR10(root=args.data_root, train=True,"),
        Blank("for i in range(SHOW)",
              zh="取出第 i 张测试图片和它的 target，写到 TensorBoard 的 \"test_set\"，第 i 步",
              en="take test picture i and its target, and write it under \"test_set\" at step i",
              hint="img, target = test_set[i]"),
    ), (
        (DATA + "test_14_cifar10_with_a_transform",
         "test_set[0] 应该是 [3, 32, 32] 的 tensor，\"test_set\" 要有 10 张图",
         "test_set[0] should be a [3, 32, 32] tensor, and \"test_set\" hold 10 pictures"),
    )),
    Exercise("15_dataloader", "P15", (
        Blank("test_loader = DataLoader(",
              zh="创建 test_loader：DataLoader(dataset=test_data, ...)，batch_size、shuffle、num_workers、"
                 "drop_last 用命令行参数 args.*，再加 generator=generator",
              en="make test_loader: DataLoader(dataset=test_data, ...) with batch_size, shuffle, "
                 "num_workers and drop_last from args, plus generator=generator",
              hint="test_loader = DataLoader(dataset=test_data, batch_size=args.batch_size,"),
        Blank("imgs, targets = data",
              zh="把一批 data 拆成 imgs 和 targets",
              en="unpack one batch, data, into imgs and targets",
              hint="imgs, targets = "),
        Blank('writer.add_images(f"Epoch: {epoch}"',
              zh="用 add_images 把这一批写到标签 \"Epoch: {epoch}\" 的第 step 步",
              en="write the batch with add_images under the tag \"Epoch: {epoch}\" at step",
              hint='writer.add_images(f"Epoch: {epoch}",'),
    ), (
        (DATA + "test_15_dataloader_batches_shuffle_and_drop_last",
         "每批 64 张、每个 epoch 打乱、drop_last 丢掉不满的一批，两个 epoch 都写进 TensorBoard",
         "batches of 64, shuffled each epoch, the short batch dropped, both epochs written"),
    )),
    Exercise("16_nn_module", "P16", (
        Blank("class Tudui",
              zh="写 __init__（先调用 super().__init__()）和 forward(self, input)：返回 input + 1",
              en="write __init__ (call super().__init__() first) and forward(self, input), "
                 "which returns input + 1",
              hint="def __init__(self):"),
        Blank("tudui = Tudui()", until="output = tudui(x)",
              zh="创建 tudui，把 x = torch.tensor(1.0) 交给它，得到 output",
              en="make tudui, give it x = torch.tensor(1.0), get output",
              hint="tudui = Tudui()"),
    ), (
        (NN + "test_16_module_forward_adds_one_and_call_runs_forward",
         "forward 应该返回 input + 1，tudui(x) 应该得到 tensor(2.)",
         "forward should return input + 1, so tudui(x) gives tensor(2.)"),
    )),
    Exercise("17_conv", "P17", (
        Blank("input = torch.reshape(input", until="kernel = torch.reshape(kernel",
              zh="F.conv2d 要 4 维输入：把 input 和 kernel 都 reshape 成 (1, 1, 高, 宽)",
              en="F.conv2d wants 4-d tensors: reshape input and kernel to (1, 1, height, width)",
              hint="input = torch.reshape(input, (1, 1, 5, 5))"),
        Blank("output = F.conv2d(", until="print(output3)",
              zh="用 F.conv2d 算三次：stride=1 得 output，stride=2 得 output2，stride=1 加 padding=1 得 output3，每次都打印",
              en="F.conv2d three times, printing each: stride=1 (output), stride=2 (output2), "
                 "stride=1 with padding=1 (output3)",
              hint="output = F.conv2d(input, kernel, stride=1)"),
    ), (
        (NN + "test_17_conv_gives_the_course_outputs",
         "卷积结果应该和课程的一样（stride=1 左上角是 10）",
         "the convolutions should give the course's numbers (10 at the top left for stride=1)"),
    )),
    Exercise("18_nn_conv2d", "P18", (
        Blank("class Tudui",
              zh="self.conv1：Conv2d，3 个输入通道、6 个输出通道、3x3 卷积核、stride=1、padding=0；forward 只过 conv1",
              en="self.conv1: a Conv2d with 3 input channels, 6 output channels, a 3x3 kernel, "
                 "stride 1, padding 0; forward runs x through conv1",
              hint="self.conv1 = Conv2d(in_channels=3,"),
        Blank("output = torch.reshape(output",
              zh="6 个通道没法显示：把 output reshape 成 (-1, 3, 30, 30)，一张变两张 3 通道图",
              en="six channels cannot be shown: reshape output to (-1, 3, 30, 30), two 3-channel "
                 "images per picture",
              hint="output = torch.reshape(output,"),
    ), (
        (NN + "test_18_conv2d_on_cifar_batches_and_tensorboard",
         "[64,3,32,32] 应该变成 [64,6,30,30]，\"output\" 每步 128 张",
         "[64,3,32,32] should become [64,6,30,30], \"output\" getting 128 images a step"),
    )),
    Exercise("19_nn_maxpool", "P19", (
        Blank("self.maxpool1 = ",
              zh="self.maxpool1：3x3 的 MaxPool2d，ceil_mode 用参数 ceil_mode",
              en="self.maxpool1: a 3x3 MaxPool2d, its ceil_mode from the argument ceil_mode",
              hint="self.maxpool1 = MaxPool2d(kernel_size=3,"),
        Blank("def forward",
              zh="forward：input 经过 self.maxpool1，返回 output",
              en="forward: run input through self.maxpool1 and return output",
              hint="output = self.maxpool1(input)"),
    ), (
        (NN + "test_19_maxpool_ceil_mode_and_cifar",
         "ceil_mode=True 得 [[2,3],[5,1]]，False 得 [[2]]；[64,3,32,32] 变 [64,3,10,10]",
         "ceil_mode=True gives [[2,3],[5,1]], False gives [[2]]; [64,3,32,32] becomes "
         "[64,3,10,10]"),
    )),
    Exercise("20_nn_relu", "P20", (
        Blank("self.relu1 = ", until="self.sigmoid1 = ",
              zh="两个层：self.relu1 是 ReLU()，self.sigmoid1 是 Sigmoid()",
              en="two layers: self.relu1 a ReLU(), self.sigmoid1 a Sigmoid()",
              hint="self.relu1 = ReLU()"),
        Blank("def forward",
              zh="forward：input 经过 self.sigmoid1（视频先试了 relu1），返回 output",
              en="forward: run input through self.sigmoid1 (the video tries relu1 first) and "
                 "return output",
              hint="output = self.sigmoid1(input)"),
    ), (
        (NN + "test_20_relu_sigmoid_inplace_and_cifar",
         "ReLU 把负数变 0，Sigmoid 把 1 变成 0.7311，图片的输出在 0.5 到 0.7311 之间",
         "ReLU zeroes the negatives, Sigmoid turns 1 into 0.7311, the pictures' outputs lie "
         "in [0.5, 0.7311]"),
    )),
    Exercise("21_nn_linear", "P21", (
        Blank("class Tudui",
              zh="self.linear1：Linear，输入 196608 个数（64*3*32*32），输出 10 个；forward 过 linear1",
              en="self.linear1: a Linear from 196608 values (64*3*32*32) to 10; forward runs "
                 "input through it",
              hint="self.linear1 = Linear(196608, 10)"),
        Blank("dataloader = DataLoader(",
              zh="DataLoader：每批 64 张，drop_last=True（不满 64 张的最后一批会让 Linear 报错）",
              en="a DataLoader of batches of 64 with drop_last=True (a short last batch would "
                 "break the Linear)",
              hint="dataloader = DataLoader(dataset,"),
        Blank("output = torch.flatten(",
              zh="把整批 imgs 展平成一行（记得 .to(device)），叫 output",
              en="flatten the whole batch imgs into one row (remember .to(device)): output",
              hint="output = torch.flatten("),
        Blank("output = tudui(output)",
              zh="把展平的 output 交给 tudui",
              en="give the flat output to tudui",
              hint="output = tudui("),
    ), (
        (NN + "test_21_linear_quick_batches_divide_evenly",
         "每批展平成 196608 个数，经过 Linear 得到 10 个数；不满的一批被丢掉",
         "each batch flattens to 196608 values and the Linear gives 10; the short batch is "
         "dropped"),
    )),
    Exercise("22_nn_seq", "P22", (
        Blank("class Tudui",
              zh="照着 CIFAR-10 模型结构图，用 Sequential 写 self.model1（三组卷积+池化、Flatten、两个 Linear），forward 过 model1",
              en="follow the CIFAR-10 model diagram: self.model1 = Sequential(three conv + "
                 "max-pool pairs, Flatten, two Linear layers); forward runs x through it",
              hint="self.model1 = Sequential(  (第一层 / first layer: Conv2d(3, 32, 5, padding=...))"),
        Blank("input = torch.ones(", until="output = tudui(input)",
              zh="用 torch.ones((64, 3, 32, 32)) 做一批假图片 input（放到 device 上），交给 tudui 得到 output",
              en="a fake batch input = torch.ones((64, 3, 32, 32)) on device, given to tudui: "
                 "output",
              hint="input = torch.ones((64, 3, 32, 32), device=device)"),
        Blank("writer.add_graph(",
              zh="把 tudui 的计算图写进 TensorBoard（需要一个 input）",
              en="write tudui's graph to TensorBoard (it needs an input)",
              hint="writer.add_graph("),
    ), (
        (NN + "test_22_tudui_shapes_parameters_and_graph",
         "输出应该是 [64, 10]，每层形状对、一共 145,578 个参数，并写出计算图",
         "the output should be [64, 10], every layer's shape right, 145,578 parameters, and "
         "the graph written"),
        (NN + "test_22_model1_and_the_model_modules_model_are_the_same_network",
         "self.model1 应该和课程的 model.py 是同一个网络",
         "self.model1 should be the same network as the course's model.py"),
    )),
    Exercise("23_nn_loss", "P23", (
        Blank("loss = L1Loss(reduction", until="result_mse = loss_mse(inputs, targets)",
              zh="两个损失：L1Loss(reduction=\"sum\") 叫 loss，算出 result；nn.MSELoss() 叫 loss_mse，算出 result_mse",
              en="two losses: L1Loss(reduction=\"sum\") as loss giving result; nn.MSELoss() as "
                 "loss_mse giving result_mse",
              hint='loss = L1Loss(reduction="sum")'),
        Blank("loss_cross = nn.CrossEntropyLoss()", until="result_cross = loss_cross(x, y)",
              zh="交叉熵：nn.CrossEntropyLoss() 叫 loss_cross，用 x 和 y 算出 result_cross",
              en="cross-entropy: nn.CrossEntropyLoss() as loss_cross, result_cross from x and y",
              hint="loss_cross = nn.CrossEntropyLoss()"),
        Blank("result_loss = loss(outputs", until="result_loss.backward()",
              zh="用 loss 算出 outputs 和 targets（放到 device 上）的 result_loss，再反向传播",
              en="result_loss from loss, outputs and targets (on device), then backward",
              hint="result_loss = loss(outputs, targets.to(device))"),
    ), (
        (NN + "test_23_losses_and_every_parameter_gets_a_gradient",
         "L1 求和是 2.0、MSE 是 1.3333、交叉熵是 1.1019，反向传播后每个参数都有梯度",
         "L1 (sum) 2.0, MSE 1.3333, cross-entropy 1.1019, and every parameter gets a gradient"),
    )),
    Exercise("24_nn_optim", "P24", (
        Blank("optim = torch.optim.SGD(",
              zh="优化器 optim：随机梯度下降 SGD，优化 tudui 的参数，学习率 args.lr（视频里是 0.01）",
              en="the optimizer optim: SGD over tudui's parameters with lr=args.lr (the video: "
                 "0.01)",
              hint="optim = torch.optim.SGD(tudui.parameters(),"),
        Blank("optim.zero_grad()", until="optim.step()",
              zh="一步优化：先把上一步的梯度清零，再反向传播，再更新参数",
              en="one optimization step: clear the previous gradients, backward, update the "
                 "parameters",
              hint="optim.zero_grad()"),
    ), (
        (NN + "test_24_sgd_running_loss_falls_and_is_logged",
         "running_loss 应该一轮比一轮小，并写进 TensorBoard",
         "running_loss should fall from epoch to epoch and be logged"),
    )),
    Exercise("26_model_save", "P26", (
        Blank("torch.save(tudui, f)",
              zh="保存方式1：把整个 tudui（结构+参数）保存到 f",
              en="save method 1: the whole tudui (structure and parameters) into f",
              hint="torch.save(tudui,"),
        Blank("torch.save(tudui.state_dict(), f)",
              zh="保存方式2：只保存 tudui 的参数（state_dict）到 f",
              en="save method 2: only tudui's parameters (its state_dict) into f",
              hint="torch.save(tudui.state_dict(),"),
    ), (
        (IO + "test_save_two_ways_and_load_three_ways",
         "两个文件都要写出：方式1 是整个模型，方式2 是只有参数的字典",
         "both files should be written: method 1 the whole model, method 2 a dict of parameters"),
    )),
    Exercise("26_model_load", "P26", (
        Blank('tudui.load_state_dict(torch.load(folder / "tudui_method2.pth"',
              zh="方式2 加载：用 torch.load(..., weights_only=True) 读出 tudui_method2.pth，再 load_state_dict 到 tudui",
              en="load method 2: torch.load(..., weights_only=True) tudui_method2.pth, then "
                 "load_state_dict it into tudui",
              hint="tudui.load_state_dict(torch.load("),
        Blank("model = torch.load(trap_file",
              zh="方式1 加载（在允许列表里）：torch.load 读 trap_file，weights_only=True",
              en="load method 1 (inside the allow-list): torch.load trap_file with "
                 "weights_only=True",
              hint="model = torch.load(trap_file,"),
    ), (
        (IO + "test_save_two_ways_and_load_three_ways",
         "两种方式加载出来的参数应该和保存的一样",
         "both ways should load the very parameters that were saved"),
    )),
    Exercise("27_train", "P27-P29", (
        Blank("train_data = CIFAR10(", until="test_data = CIFAR10(",
              zh="训练集和测试集：CIFAR10(root=args.data_root, train=..., transform=torchvision.transforms.ToTensor(), download=True)",
              en="the train and test sets: CIFAR10 with root=args.data_root, train=True/False, "
                 "transform=torchvision.transforms.ToTensor(), download=True",
              hint="train_data = CIFAR10(root=args.data_root, train=True,"),
        Blank("loss_fn = ",
              zh="损失函数 loss_fn：交叉熵", en="the loss function loss_fn: cross-entropy",
              hint="loss_fn = nn."),
        Blank("optimizer = torch.optim.SGD(",
              zh="优化器 optimizer：SGD，优化 tudui 的参数，学习率 learning_rate",
              en="the optimizer: SGD over tudui's parameters with lr=learning_rate",
              hint="optimizer = torch.optim.SGD("),
        Blank("for data in train_dataloader",
              zh="训练一步：拆出 imgs、targets，算 outputs 和 loss，优化器三步，total_train_step 加一，"
                 "每 LOG_EVERY 步打印并写 \"train_loss\"",
              en="one training step: unpack imgs and targets, outputs and loss, the optimizer's "
                 "three calls, total_train_step + 1, and every LOG_EVERY steps print and write "
                 "\"train_loss\"",
              hint="imgs, targets = data"),
        Blank("for data in test_dataloader",
              zh="测试一批：算 outputs 和 loss，累加 total_test_loss；预测对的个数 accuracy 累加到 total_accuracy",
              en="one test batch: outputs and loss, add to total_test_loss; count the right "
                 "predictions (accuracy) into total_accuracy",
              hint="accuracy = (outputs.argmax(1) == targets).sum()"),
        Blank("torch.save(tudui.state_dict(), f)",
              zh="每一轮保存 tudui 的参数（方式2）到 f",
              en="save tudui's parameters (method 2) into f after each epoch",
              hint="torch.save("),
    ), (
        (TRAIN + "test_27_follows_the_course_loop_step_for_step",
         "每一步的 loss 应该和课程的训练循环完全一样（别忘了 zero_grad）",
         "every step's loss should equal the course loop's (remember zero_grad)"),
        (IO + "test_validation_reproduces_the_trained_accuracy",
         "每轮都要保存模型，32 课能读出来并得到同样的正确率",
         "a model should be saved each epoch, and 32 get the same accuracy from it"),
    )),
    Exercise("30_train_gpu", "P30-P31", (
        Blank("tudui = Tudui()", until='if way == "cuda":',
              zh="创建 tudui，放到 GPU：方式一 .cuda()（只在 torch.cuda.is_available() 时），方式二 .to(device)",
              en="make tudui and put it on the GPU: way 1 .cuda() (only when "
                 "torch.cuda.is_available()), way 2 .to(device)",
              hint='tudui = Tudui(), then if way == "cuda":'),
        Blank("loss_fn = nn.CrossEntropyLoss()", until='if way == "cuda":',
              zh="损失函数 loss_fn 也放到 GPU，两种方式同上",
              en="the loss function loss_fn goes to the GPU too, the same two ways",
              hint="loss_fn = nn.CrossEntropyLoss()"),
        Blank('if way == "cuda":',
              zh="训练循环里：把 imgs 和 targets 放到 GPU，方式一 .cuda()，方式二 .to(device)",
              en="in the training loop: imgs and targets to the GPU, way 1 .cuda(), way 2 "
                 ".to(device)",
              hint="imgs = imgs.cuda()"),
        Blank('if way == "cuda":',
              zh="测试循环里也一样：imgs 和 targets 放到 GPU",
              en="the same in the test loop: imgs and targets to the GPU",
              hint="imgs = imgs.cuda()"),
    ), (
        ("tests/test_video_lines.py::test_the_videos_lines_are_in_the_lesson_in_the_videos_order"
         "[30_train_gpu]",
         "模型、损失函数，以及两个循环里的 imgs 和 targets 都要放到 GPU，两种方式都写",
         "the model, the loss, and imgs and targets in both loops all go to the GPU, both ways"),
        (TRAIN + "test_train_gpu_lesson_both_ways[to]",
         "方式二（.to(device)）应该能训练一轮并保存模型",
         "way 2 (.to(device)) should train an epoch and save the model"),
        (TRAIN + "test_train_gpu_lesson_both_ways[cuda]",
         "方式一（.cuda()）应该能训练一轮并保存模型",
         "way 1 (.cuda()) should train an epoch and save the model"),
    )),
    Exercise("32_test", "P32", (
        Blank("image = Image.open(image_path)", until="image = image.convert('RGB')",
              zh="用 Image.open 打开 image_path，打印，再转成 RGB（PNG 可能有 4 个通道）",
              en="open image_path with Image.open, print it, convert it to RGB (a PNG may have 4 "
                 "channels)",
              hint="image = Image.open(image_path)"),
        Blank("transform = torchvision.transforms.Compose(", until="image = transform(image)",
              zh="transform：Resize((32, 32)) 再 ToTensor，作用在 image 上",
              en="transform: Resize((32, 32)) then ToTensor, applied to image",
              hint="transform = torchvision.transforms.Compose(["),
        Blank("model = torch.load(checkpoint",
              zh="加载模型：torch.load(checkpoint)，map_location=device，weights_only=True",
              en="load the model: torch.load(checkpoint) with map_location=device and "
                 "weights_only=True",
              hint="model = torch.load(checkpoint,"),
        Blank("image = torch.reshape(image", until="with torch.no_grad()",
              zh="把 image reshape 成一批 (1, 3, 32, 32) 放到 device；model.eval()；不算梯度地得到 output",
              en="reshape image to a batch (1, 3, 32, 32) on device; model.eval(); output without "
                 "gradients",
              hint="image = torch.reshape(image, (1, 3, 32, 32))"),
    ), (
        (IO + "test_validation_reproduces_the_trained_accuracy",
         "读出的模型应该给出训练时的正确率，32x32 的图片和前三名",
         "the loaded model should give the accuracy of training, a 32x32 picture and a top 3"),
        (IO + "test_any_picture_mode_and_size[RGBA-size0]",
         "4 通道的 PNG 也要能分类（转成 RGB）",
         "a 4-channel PNG should be classified too (converted to RGB)"),
    )),
)
